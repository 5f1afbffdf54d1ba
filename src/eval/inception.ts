// The FID Inception-v3: torch-fidelity's / pytorch-fid's port of the TF "2015-12-05" graph, as
// the official evaluator's FeatureExtractorInceptionV3 runs it (spec 4.2). Module keys follow
// that port (Conv2d_1a_3x3 ... Mixed_7c, fc [1008, 2048]), so its state dict loads strictly.
//
// uint8 images [B, 3, H, W] -> float -> TF1 bilinear resize to 299 -> (x - 128) / 128 -> stem
// (Conv2d_1a..4a, two 3x3/s2 max pools) -> Mixed_5b..7c -> global mean = pool_2048 (the FID
// feature) -> logits_unbiased = pool_2048 fc.weight^T (used for IS) -> logits = + fc.bias.
// The reference runs in float64; "float32" uses ORT's native Conv and is much faster.

import { Graph, type Tensor } from "../engine/graph/tensor.js";
import type { FloatDType } from "../engine/graph/dtype.js";
import type { HostTensor } from "../engine/host-tensor.js";
import { CompiledGraph, type ParamSource, type SessionOptions } from "../engine/runtime/session.js";
import { add, cast, clamp, concat, div, floor, matmul, maxPool, mul, reduceMean, sub, transpose } from "../engine/ops/index.js";
import { FeedError, fmtShape } from "../engine/errors.js";
import { avgPool3x3ExcludePad, basicConv, resizeTf1, type ConvSpec } from "./inception-layers.js";

export const INCEPTION_OUTPUTS = ["resized", "feat64", "feat192", "feat768", "pool2048", "logitsUnbiased", "logits"] as const;
export type InceptionOutput = (typeof INCEPTION_OUTPUTS)[number];

export interface InceptionOptions {
  readonly dtype: FloatDType;
  /** Input image size (the resize weights are built for it). */
  readonly height: number;
  readonly width: number;
  /**
   * "uint8": images as the evaluator feeds them. "unit": float32 images in [0, 1], converted in the
   * graph as the official code does: clamp to [0, 1], x 255, truncate to an integer.
   */
  readonly input?: "uint8" | "unit";
  readonly outputs?: readonly InceptionOutput[];
}

const RESIZE = 299;
const pool3s2 = (x: Tensor) => maxPool(x, { kernel: [3, 3], strides: [2, 2], pads: [0, 0, 0, 0] });
const pool3s1 = (x: Tensor) => maxPool(x, { kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] });
const spatialMean = (x: Tensor) => reduceMean(x, [2, 3]);

type Conv = (x: Tensor, name: string, spec: Omit<ConvSpec, "inChannels">) => Tensor;

function inceptionA(x: Tensor, conv: Conv, poolFeatures: number): Tensor {
  const b1 = conv(x, "branch1x1", { outChannels: 64, kernel: [1, 1] });
  const b5 = conv(conv(x, "branch5x5_1", { outChannels: 48, kernel: [1, 1] }), "branch5x5_2", { outChannels: 64, kernel: [5, 5], padding: [2, 2] });
  let b3 = conv(x, "branch3x3dbl_1", { outChannels: 64, kernel: [1, 1] });
  b3 = conv(conv(b3, "branch3x3dbl_2", { outChannels: 96, kernel: [3, 3], padding: [1, 1] }), "branch3x3dbl_3", { outChannels: 96, kernel: [3, 3], padding: [1, 1] });
  const bp = conv(avgPool3x3ExcludePad(x), "branch_pool", { outChannels: poolFeatures, kernel: [1, 1] });
  return concat([b1, b5, b3, bp], 1);
}

function inceptionB(x: Tensor, conv: Conv): Tensor {
  const b3 = conv(x, "branch3x3", { outChannels: 384, kernel: [3, 3], stride: 2 });
  let bd = conv(x, "branch3x3dbl_1", { outChannels: 64, kernel: [1, 1] });
  bd = conv(conv(bd, "branch3x3dbl_2", { outChannels: 96, kernel: [3, 3], padding: [1, 1] }), "branch3x3dbl_3", { outChannels: 96, kernel: [3, 3], stride: 2 });
  return concat([b3, bd, pool3s2(x)], 1);
}

function inceptionC(x: Tensor, conv: Conv, c7: number): Tensor {
  const row = (t: Tensor, name: string, out: number) => conv(t, name, { outChannels: out, kernel: [1, 7], padding: [0, 3] });
  const col = (t: Tensor, name: string, out: number) => conv(t, name, { outChannels: out, kernel: [7, 1], padding: [3, 0] });
  const b1 = conv(x, "branch1x1", { outChannels: 192, kernel: [1, 1] });
  const b7 = col(row(conv(x, "branch7x7_1", { outChannels: c7, kernel: [1, 1] }), "branch7x7_2", c7), "branch7x7_3", 192);
  let bd = conv(x, "branch7x7dbl_1", { outChannels: c7, kernel: [1, 1] });
  bd = row(col(row(col(bd, "branch7x7dbl_2", c7), "branch7x7dbl_3", c7), "branch7x7dbl_4", c7), "branch7x7dbl_5", 192);
  const bp = conv(avgPool3x3ExcludePad(x), "branch_pool", { outChannels: 192, kernel: [1, 1] });
  return concat([b1, b7, bd, bp], 1);
}

function inceptionD(x: Tensor, conv: Conv): Tensor {
  const b3 = conv(conv(x, "branch3x3_1", { outChannels: 192, kernel: [1, 1] }), "branch3x3_2", { outChannels: 320, kernel: [3, 3], stride: 2 });
  let b7 = conv(x, "branch7x7x3_1", { outChannels: 192, kernel: [1, 1] });
  b7 = conv(b7, "branch7x7x3_2", { outChannels: 192, kernel: [1, 7], padding: [0, 3] });
  b7 = conv(b7, "branch7x7x3_3", { outChannels: 192, kernel: [7, 1], padding: [3, 0] });
  b7 = conv(b7, "branch7x7x3_4", { outChannels: 192, kernel: [3, 3], stride: 2 });
  return concat([b3, b7, pool3s2(x)], 1);
}

/** InceptionE; Mixed_7b pools by average (count_include_pad False), Mixed_7c (the TF graph's quirk) by max. */
function inceptionE(x: Tensor, conv: Conv, pool: "avg" | "max"): Tensor {
  const split = (t: Tensor, a: string, b: string) => concat([
    conv(t, a, { outChannels: 384, kernel: [1, 3], padding: [0, 1] }),
    conv(t, b, { outChannels: 384, kernel: [3, 1], padding: [1, 0] }),
  ], 1);
  const b1 = conv(x, "branch1x1", { outChannels: 320, kernel: [1, 1] });
  const b3 = split(conv(x, "branch3x3_1", { outChannels: 384, kernel: [1, 1] }), "branch3x3_2a", "branch3x3_2b");
  let bd = conv(x, "branch3x3dbl_1", { outChannels: 448, kernel: [1, 1] });
  bd = split(conv(bd, "branch3x3dbl_2", { outChannels: 384, kernel: [3, 3], padding: [1, 1] }), "branch3x3dbl_3a", "branch3x3dbl_3b");
  const pooled = pool === "avg" ? avgPool3x3ExcludePad(x) : pool3s1(x);
  const bp = conv(pooled, "branch_pool", { outChannels: 192, kernel: [1, 1] });
  return concat([b1, b3, bd, bp], 1);
}

/** Builds the extractor on `images` (uint8 or unit-range float32 [B, 3, H, W]); returns the requested outputs. */
export function inceptionV3(images: Tensor, o: InceptionOptions): Partial<Record<InceptionOutput, Tensor>> {
  const g = images.graph, dtype = o.dtype;
  const conv: Conv = (x, name, spec) => basicConv(x, name, { ...spec, inChannels: x.shape[1] as number }, dtype);
  const block = <T>(name: string, f: () => T): T => g.scope(name, f);
  const pixels = o.input === "unit" ? floor(mul(clamp(images, 0, 1), 255)) : images;
  const resized = div(sub(resizeTf1(cast(pixels, dtype), RESIZE), 128), 128);
  let x = conv(resized, "Conv2d_1a_3x3", { outChannels: 32, kernel: [3, 3], stride: 2 });
  x = conv(x, "Conv2d_2a_3x3", { outChannels: 32, kernel: [3, 3] });
  x = pool3s2(conv(x, "Conv2d_2b_3x3", { outChannels: 64, kernel: [3, 3], padding: [1, 1] }));
  const feat64 = spatialMean(x);
  x = conv(x, "Conv2d_3b_1x1", { outChannels: 80, kernel: [1, 1] });
  x = pool3s2(conv(x, "Conv2d_4a_3x3", { outChannels: 192, kernel: [3, 3] }));
  const feat192 = spatialMean(x);
  x = block("Mixed_5b", () => inceptionA(x, conv, 32));
  x = block("Mixed_5c", () => inceptionA(x, conv, 64));
  x = block("Mixed_5d", () => inceptionA(x, conv, 64));
  x = block("Mixed_6a", () => inceptionB(x, conv));
  x = block("Mixed_6b", () => inceptionC(x, conv, 128));
  x = block("Mixed_6c", () => inceptionC(x, conv, 160));
  x = block("Mixed_6d", () => inceptionC(x, conv, 160));
  x = block("Mixed_6e", () => inceptionC(x, conv, 192));
  // The official extractor hands this feature out as float32.
  const feat768 = cast(cast(spatialMean(x), "float32"), dtype);
  x = block("Mixed_7a", () => inceptionD(x, conv));
  x = block("Mixed_7b", () => inceptionE(x, conv, "avg"));
  x = block("Mixed_7c", () => inceptionE(x, conv, "max"));
  const pool2048 = spatialMean(x);
  const fcWeight = cast(g.scope("fc", () => g.param("weight", [1008, 2048], { kind: "constant", value: 0 })), dtype);
  const fcBias = cast(g.scope("fc", () => g.param("bias", [1008], { kind: "constant", value: 0 })), dtype);
  const logitsUnbiased = matmul(pool2048, transpose(fcWeight, [1, 0]));
  const all: Record<InceptionOutput, Tensor> = { resized, feat64, feat192, feat768, pool2048, logitsUnbiased, logits: add(logitsUnbiased, fcBias) };
  return Object.fromEntries((o.outputs ?? ["pool2048", "logitsUnbiased"]).map((k) => [k, all[k]]));
}

/** A compiled extractor for one input size and dtype; batches of any size. Owns its ORT session. */
export class InceptionExtractor {
  private constructor(
    private readonly compiled: CompiledGraph,
    private readonly weights: ParamSource,
    readonly options: InceptionOptions,
  ) {}

  static async create(weights: ParamSource, options: InceptionOptions, session: SessionOptions = {}): Promise<InceptionExtractor> {
    const g = new Graph();
    const images = g.input("images", options.input === "unit" ? "float32" : "uint8", ["B", 3, options.height, options.width]);
    const outs = inceptionV3(images, options);
    return new InceptionExtractor(await CompiledGraph.create(g, outs as Record<string, Tensor>, session), weights, options);
  }

  /** images [B, 3, H, W] (uint8, or float32 in [0, 1] for input "unit") -> the requested outputs. */
  async run(images: HostTensor): Promise<Partial<Record<InceptionOutput, HostTensor>>> {
    const o = this.options, dtype = o.input === "unit" ? "float32" : "uint8";
    if (images.dtype !== dtype || images.shape.length !== 4 || images.shape[1] !== 3 || images.shape[2] !== o.height || images.shape[3] !== o.width) {
      throw new FeedError({ op: "InceptionExtractor.run", expected: `${dtype}[B, 3, ${o.height}, ${o.width}]`, got: `${images.dtype}${fmtShape(images.shape)}` });
    }
    return this.compiled.run({ images }, this.weights);
  }

  async dispose(): Promise<void> {
    await this.compiled.dispose();
  }
}
