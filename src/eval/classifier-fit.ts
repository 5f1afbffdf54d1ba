// The in-domain classifier must see images the way its training data was fitted to its input size.
// The shipped evaluator was trained on Fashion-MNIST resized 28 -> 32 (bilinear), while tokenizers
// and generators work on images padded 28 -> 32; fed padded images it is right only ~83 % of the time
// on real test images (vs ~93 % resized). So the evaluation maps padded images into the
// classifier's fit inside its graph: crop the centre 28x28 (the padding holds nothing), then repeat
// the data loader's resize exactly - PIL's bilinear fixed-point weights, horizontal pass first,
// uint8 rounding after each pass - so a real test image padded and mapped is the very image the
// classifier was trained on (test/eval/classifier-fit.test.ts checks this).
//
// Which fit a classifier was trained with is read from its file ("train_fit"; files written before
// that key existed state it in the free-text "fit" fact), with "resize" as the stated default.

import type { Tensor } from "../engine/graph/tensor.js";
import { add, clamp, div, floor, matmul, mul, slice } from "../engine/ops/index.js";
import { HostTensor } from "../engine/host-tensor.js";
import { ConfigError, ShapeError, fmtShape } from "../engine/errors.js";
import { uint8ResizeMatrix } from "../io/resample.js";
import type { Fit } from "../data/loader.js";

/** Metadata key of the fit the classifier's training images had ("resize" | "pad"). */
export const TRAIN_FIT_KEY = "train_fit";
/** Metadata key of the side of the dataset's own images (28 for Fashion-MNIST). */
export const SOURCE_SIZE_KEY = "source_size";

/** What a classifier file without TRAIN_FIT_KEY or a readable "fit" fact is taken to be trained with. */
export const DEFAULT_TRAIN_FIT: Fit = "resize";
/** Fashion-MNIST's side, for files without SOURCE_SIZE_KEY. */
export const DEFAULT_SOURCE_SIZE = 28;

export interface ClassifierFit {
  /** How the classifier's training images were fitted to its input size. */
  readonly trainFit: Fit;
  /** Side of the dataset images before fitting. */
  readonly sourceSize: number;
}

/** The fit recorded in a classifier file's metadata (see the header for the fallbacks). */
export function classifierFitOf(metadata: Readonly<Record<string, string>>, source = "classifier metadata"): ClassifierFit {
  const bad = (key: string, expected: string, got: string) => new ConfigError({ op: "classifierFitOf", scope: `${source}: ${key}`, expected, got });
  let trainFit: Fit = DEFAULT_TRAIN_FIT;
  const recorded = metadata[TRAIN_FIT_KEY];
  if (recorded !== undefined) {
    if (recorded !== "resize" && recorded !== "pad") throw bad(TRAIN_FIT_KEY, "resize or pad", JSON.stringify(recorded));
    trainFit = recorded;
  } else if (metadata.fit !== undefined) {
    // The free-text fact of older files, e.g. "bilinear resize 28->32 (BatchLoader fit resize)".
    const says = (word: string) => new RegExp(`\\b${word}\\b`).test(metadata.fit!);
    if (says("resize") === says("pad")) throw bad("fit", `a text naming either resize or pad (or a "${TRAIN_FIT_KEY}" entry)`, JSON.stringify(metadata.fit));
    trainFit = says("resize") ? "resize" : "pad";
  }
  const size = metadata[SOURCE_SIZE_KEY];
  const sourceSize = size === undefined ? DEFAULT_SOURCE_SIZE : Number(size);
  if (!(Number.isInteger(sourceSize) && sourceSize > 0)) throw bad(SOURCE_SIZE_KEY, "a positive integer", JSON.stringify(size));
  return { trainFit, sourceSize };
}

/**
 * Images fitted with `imageFit` ([B, C, H, W] in [0, 1]) -> the same images as the classifier's
 * training fit makes them, at `size` x `size`. Nothing happens when the fits agree. Padded images
 * into a resize-trained classifier: centre crop of sourceSize, then the loader's uint8 bilinear
 * resize. Resized images cannot be un-resized exactly, so the other direction is an error.
 */
export function mapToClassifierFit(x: Tensor, imageFit: Fit, fit: ClassifierFit, size: number): Tensor {
  if (imageFit === fit.trainFit) return x;
  const g = x.graph;
  const [h, w] = [x.shape[2], x.shape[3]];
  if (imageFit === "resize") {
    throw new ConfigError({
      op: "mapToClassifierFit", scope: g.scopePath, expected: "images fitted like the classifier's training images, or padded images for a resize-trained classifier",
      got: "resized images for a classifier trained on padded images", hint: "evaluate with --fit pad, or use a classifier trained with --fit resize",
    });
  }
  const n = fit.sourceSize;
  if (x.rank !== 4 || typeof h !== "number" || typeof w !== "number" || h < n || w < n) {
    throw new ShapeError({ op: "mapToClassifierFit", scope: g.scopePath, expected: `padded images [B, C, H, W] with static H, W >= ${n}`, got: fmtShape(x.shape) });
  }
  const top = Math.floor((h - n) / 2), left = Math.floor((w - n) / 2);
  const crop = slice(x, [2, 3], [top, left], [top + n, left + n]);
  const f32 = (m: Float64Array, shape: number[]) => g.constant(new HostTensor("float32", shape, Float32Array.from(m)));
  const toByte = (t: Tensor) => clamp(floor(add(t, 0.5)), 0, 255);
  // Pixels back to integers 0..255 (the padded image came from uint8 / 255).
  const pixels = toByte(mul(crop, 255));
  // Horizontal pass first, as PIL: [.., n, n] @ [n, size] -> [.., n, size].
  const cols = f32(transpose(uint8ResizeMatrix(n, size, "bilinear"), size, n), [n, size]);
  const rows = f32(uint8ResizeMatrix(n, size, "bilinear"), [size, n]);
  const horizontal = toByte(matmul(pixels, cols));
  return div(toByte(matmul(rows, horizontal)), 255);
}

function transpose(m: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c]!;
  return t;
}
