// Separable resampling with PIL's conventions, because the official pipeline resizes PIL images:
// pixel centres at +0.5, the filter stretched by the scale factor when shrinking (antialiasing),
// weights renormalised per output pixel, horizontal pass first, and for uint8 images PIL's
// fixed-point weights with a rounded, clamped uint8 result after each pass (bit-exact with PIL).

import { ConfigError } from "../engine/errors.js";
import { allocLike, centerCropOrPad, planarImage, type PixelArray, type PlanarImage } from "./planar.js";

export type ResampleFilter = "nearest" | "bilinear" | "bicubic";

/** A source-pixel rectangle; fractional edges are allowed. */
export interface Box {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

interface Kernel { readonly support: number; weight(x: number): number }

const BICUBIC_A = -0.5; // PIL's choice (torch tensors use -0.75)
const KERNELS: Readonly<Record<Exclude<ResampleFilter, "nearest">, Kernel>> = {
  bilinear: { support: 1, weight: (x) => { x = Math.abs(x); return x < 1 ? 1 - x : 0; } },
  bicubic: {
    support: 2,
    weight: (x) => {
      x = Math.abs(x);
      if (x < 1) return ((BICUBIC_A + 2) * x - (BICUBIC_A + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * BICUBIC_A;
      return 0;
    },
  },
};

/**
 * Per output pixel: first source index, tap count and `taps` weights (zero-padded), as doubles
 * for float images and as PIL's 22-bit fixed-point integers for uint8 images.
 */
interface Taps { readonly start: Int32Array; readonly count: Int32Array; readonly weights: Float64Array; readonly fixed: Float64Array; readonly taps: number }

const PRECISION_BITS = 22; // PIL: 32 - 8 (pixel) - 2 (headroom)
const ONE = 2 ** PRECISION_BITS, HALF = ONE / 2;

function computeTaps(inSize: number, outSize: number, boxStart: number, boxSize: number, filter: ResampleFilter): Taps {
  const scale = boxSize / outSize;
  const start = new Int32Array(outSize), count = new Int32Array(outSize);
  if (filter === "nearest") {
    // One tap at the pixel under the output pixel's centre. PIL walks the source by repeatedly
    // adding the scale (an affine transform), and exact halfway positions depend on that
    // accumulated rounding, so the position is accumulated the same way here.
    let pos = boxStart + scale * 0.5;
    for (let o = 0; o < outSize; o++, pos += scale) {
      start[o] = Math.min(Math.max(Math.trunc(pos), 0), inSize - 1);
      count[o] = 1;
    }
    return { start, count, weights: new Float64Array(outSize).fill(1), fixed: new Float64Array(outSize).fill(ONE), taps: 1 };
  }
  const kernel = KERNELS[filter];
  const stretch = Math.max(scale, 1);
  const inverse = 1 / stretch;
  const support = kernel.support * stretch;
  const taps = Math.ceil(support) * 2 + 1;
  const weights = new Float64Array(outSize * taps);
  for (let o = 0; o < outSize; o++) {
    const centre = boxStart + (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(centre - support + 0.5), 0);
    const hi = Math.min(Math.trunc(centre + support + 0.5), inSize);
    let sum = 0;
    for (let j = lo; j < hi; j++) {
      const w = kernel.weight((j - centre + 0.5) * inverse);
      weights[o * taps + j - lo] = w;
      sum += w;
    }
    if (sum !== 0) for (let j = 0; j < hi - lo; j++) weights[o * taps + j]! /= sum;
    start[o] = lo;
    count[o] = Math.max(hi - lo, 0);
  }
  const fixed = weights.map((w) => (w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE)));
  return { start, count, weights, fixed, taps };
}

/**
 * The dense [outSize, inSize] weights one pass of `resize` applies to a uint8 image along an axis
 * of inSize pixels (PIL's fixed-point weights, divided back to fractions), so a graph can repeat
 * the pass as a matmul: out = floor(weights @ pixels + 0.5), clamped to [0, 255].
 */
export function uint8ResizeMatrix(inSize: number, outSize: number, filter: ResampleFilter): Float64Array {
  const t = computeTaps(inSize, outSize, 0, inSize, filter);
  const m = new Float64Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) for (let k = 0; k < t.count[o]!; k++) m[o * inSize + t.start[o]! + k] = t.fixed[o * t.taps + k]! / ONE;
  return m;
}

/** A uint8 result from a fixed-point sum that started at HALF: round half up, clamp. */
const clip8 = (acc: number): number => {
  const v = Math.floor(acc / ONE);
  return v <= 0 ? 0 : v >= 255 ? 255 : v;
};

function horizontalPass<T extends PixelArray>(img: PlanarImage<T>, t: Taps, rowStart: number, rowEnd: number): PlanarImage<T> {
  const outW = t.start.length, rows = rowEnd - rowStart;
  const out = allocLike(img.data, img.channels * rows * outW);
  const src = img.data;
  const bytes = src instanceof Uint8Array;
  const weights = bytes ? t.fixed : t.weights;
  for (let c = 0; c < img.channels; c++) {
    for (let y = 0; y < rows; y++) {
      const inBase = (c * img.height + rowStart + y) * img.width;
      const outBase = (c * rows + y) * outW;
      for (let x = 0; x < outW; x++) {
        const s = inBase + t.start[x]!, n = t.count[x]!, wb = x * t.taps;
        let acc = bytes ? HALF : 0;
        for (let k = 0; k < n; k++) acc += src[s + k]! * weights[wb + k]!;
        out[outBase + x] = bytes ? clip8(acc) : acc;
      }
    }
  }
  return planarImage(out, img.channels, rows, outW);
}

function verticalPass<T extends PixelArray>(img: PlanarImage<T>, t: Taps, rowOffset: number): PlanarImage<T> {
  const outH = t.start.length, w = img.width;
  const out = allocLike(img.data, img.channels * outH * w);
  const src = img.data;
  const bytes = src instanceof Uint8Array;
  const weights = bytes ? t.fixed : t.weights;
  for (let c = 0; c < img.channels; c++) {
    const plane = c * img.height * w;
    for (let y = 0; y < outH; y++) {
      const s = t.start[y]! - rowOffset, n = t.count[y]!, wb = y * t.taps;
      const outBase = (c * outH + y) * w;
      for (let x = 0; x < w; x++) {
        let acc = bytes ? HALF : 0;
        for (let k = 0; k < n; k++) acc += src[plane + (s + k) * w + x]! * weights[wb + k]!;
        out[outBase + x] = bytes ? clip8(acc) : acc;
      }
    }
  }
  return planarImage(out, img.channels, outH, w);
}

/** Resamples `box` of `img` (default: all of it) to [height, width]: PIL's Image.resize(size, filter, box). */
export function resize<T extends PixelArray>(img: PlanarImage<T>, height: number, width: number, filter: ResampleFilter, box?: Box): PlanarImage<T> {
  const b = box ?? { left: 0, top: 0, width: img.width, height: img.height };
  if (!(height >= 1 && width >= 1 && Number.isInteger(height) && Number.isInteger(width))) {
    throw new ConfigError({ op: "resize", expected: "a positive integer output size", got: `[${height}, ${width}]` });
  }
  if (!(b.width > 0 && b.height > 0 && b.left >= 0 && b.top >= 0 && b.left + b.width <= img.width && b.top + b.height <= img.height)) {
    throw new ConfigError({ op: "resize", expected: `a non-empty box inside the ${img.height}x${img.width} image`, got: JSON.stringify(b) });
  }
  const needH = width !== img.width || b.left !== 0 || b.width !== img.width;
  const needV = height !== img.height || b.top !== 0 || b.height !== img.height;
  const tx = needH ? computeTaps(img.width, width, b.left, b.width, filter) : null;
  const ty = needV ? computeTaps(img.height, height, b.top, b.height, filter) : null;
  let cur = img;
  let rowOffset = 0;
  if (tx) {
    // Only the rows the vertical pass will read need a horizontal pass.
    let rowEnd = img.height;
    if (ty) {
      rowOffset = ty.start[0]!;
      rowEnd = 0;
      for (let y = 0; y < height; y++) rowEnd = Math.max(rowEnd, ty.start[y]! + ty.count[y]!);
    }
    cur = horizontalPass(cur, tx, rowOffset, rowEnd);
  }
  if (ty) cur = verticalPass(cur, ty, rowOffset);
  if (cur !== img) return cur;
  // Same size, whole image: a copy, so callers may always mutate the result.
  const copy = allocLike(img.data, img.data.length);
  copy.set(img.data);
  return planarImage(copy, img.channels, height, width);
}

/** The [newH, newW] that torchvision's Resize(size) gives: shorter side = size, longer truncated. */
export function shorterSideSize(height: number, width: number, size: number): [number, number] {
  return height <= width ? [size, Math.trunc((size * width) / height)] : [Math.trunc((size * height) / width), size];
}

/**
 * The evaluation transform (official eval_tokenizer / ADM): resize the shorter side to `size`
 * (bilinear), then centre-crop size x size.
 */
export function resizeShorterCenterCrop<T extends PixelArray>(img: PlanarImage<T>, size: number, filter: ResampleFilter = "bilinear"): PlanarImage<T> {
  const [h, w] = shorterSideSize(img.height, img.width, size);
  const resized = h === img.height && w === img.width ? img : resize(img, h, w, filter);
  return centerCropOrPad(resized, size, size);
}

/**
 * Scales to cover [height, width] (aspect kept, like resizeShorterCenterCrop for square targets)
 * and centre-crops: how a non-augmented image is fitted to a non-square batch size.
 */
export function resizeCoverCenterCrop<T extends PixelArray>(img: PlanarImage<T>, height: number, width: number, filter: ResampleFilter = "bilinear"): PlanarImage<T> {
  if (img.height === height && img.width === width) return img;
  const tallTarget = height * img.width >= width * img.height;
  const h = tallTarget ? height : Math.trunc((width * img.height) / img.width);
  const w = tallTarget ? Math.trunc((height * img.width) / img.height) : width;
  const resized = h === img.height && w === img.width ? img : resize(img, h, w, filter);
  return centerCropOrPad(resized, height, width);
}
