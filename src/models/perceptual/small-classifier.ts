// A small CNN classifier for small images (e.g. 32x32 grayscale Fashion-MNIST), usable as the
// perceptual network where an ImageNet ResNet-50 would be both too slow and off-domain. It is this
// project's design, not from the paper:
//
//   stages.i (i = 0..numStages-1), channels c_i = width * 2^i:
//     conv1 3x3 s1 (c_{i-1} -> c_i) -> norm1 GroupNorm -> ReLU -> conv2 3x3 s2 (c_i -> c_i) -> norm2 GroupNorm -> ReLU
//   global average pool -> head Linear(c_last -> numClasses)
//
// GroupNorm rather than BatchNorm: it has no running statistics, so the trained network behaves
// the same in training and as a frozen loss network, and it trains well at small batch sizes.
// Convs carry no bias (the norm's shift replaces it). 32x32 input -> 4x4 after three stages.
//
// arch "residual" (a second, deliberately different design, used as the tokenizer's in-domain
// perceptual network so that the evaluator above is not also the training signal):
//
//   stem conv 3x3 (in -> c_0) -> GroupNorm -> SiLU
//   stages.i: [2x2 average pool if i > 0] -> residual block c_{i-1} -> c_i:
//     conv1 3x3 -> norm1 -> SiLU -> conv2 3x3 -> norm2, plus the input (a 1x1 "skip" conv where
//     the channels change), then SiLU
//   global average pool -> head Linear
//
// Residual connections, SiLU, average-pool downsampling and full-resolution first stage, where the
// plain net has none, ReLU, strided convs and downsamples in every stage. 32x32 -> 8x8 after three stages.

import { Graph, type ParamSpec, type Tensor } from "../../engine/graph/tensor.js";
import { add, reduceMean, relu, reshape, silu } from "../../engine/ops/index.js";
import { conv2dLayer, groupNormLayer, linear } from "../../engine/nn/index.js";
import { ConfigError, ShapeError, fmtShape } from "../../engine/errors.js";

export type SmallClassifierArch = "plain" | "residual";
export const SMALL_CLASSIFIER_ARCHS: readonly SmallClassifierArch[] = ["plain", "residual"];

export interface SmallClassifierConfig {
  /** Default "plain" (the files written before "residual" existed carry no arch). */
  readonly arch?: SmallClassifierArch;
  readonly inChannels: number;
  readonly numClasses: number;
  /** Channels of the first stage; each further stage doubles them. */
  readonly width: number;
  readonly numStages: number;
  /** Side of the square images the classifier is trained on; other sizes are resized to it. */
  readonly imageSize: number;
  /** Per-channel input normalisation, applied to [0, 1] images. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** 32x32 grayscale, 10 classes (Fashion-MNIST padded or resized to 32): 288,170 parameters. */
export const smallClassifierFashionMnist: SmallClassifierConfig = {
  inChannels: 1,
  numClasses: 10,
  width: 32,
  numStages: 3,
  imageSize: 32,
  mean: [0.5],
  std: [0.5],
};

const GN_GROUPS = 8;
const GN_EPS = 1e-5;

function validate(cfg: SmallClassifierConfig): void {
  const bad = (what: string, expected: string, got: unknown) => new ConfigError({ op: "smallClassifier", scope: what, expected, got: String(got) });
  if (cfg.width % GN_GROUPS !== 0 || cfg.width <= 0) throw bad("width", `a positive multiple of ${GN_GROUPS} (GroupNorm groups)`, cfg.width);
  if (cfg.numStages < 1) throw bad("numStages", "at least 1", cfg.numStages);
  if (cfg.mean.length !== cfg.inChannels || cfg.std.length !== cfg.inChannels) {
    throw bad("mean/std", `${cfg.inChannels} values each (one per input channel)`, `${cfg.mean.length} and ${cfg.std.length}`);
  }
  if (cfg.arch !== undefined && !SMALL_CLASSIFIER_ARCHS.includes(cfg.arch)) throw bad("arch", SMALL_CLASSIFIER_ARCHS.join(" or "), cfg.arch);
  if (cfg.imageSize % 2 ** cfg.numStages !== 0) throw bad("imageSize", `a multiple of 2^numStages = ${2 ** cfg.numStages}`, cfg.imageSize);
}

export interface SmallClassifierOutput {
  /** [B, numClasses] */
  readonly logits: Tensor;
  /** Last stage output [B, width * 2^(numStages-1), s, s] (s = S / 2^numStages plain, twice that residual). */
  readonly features: Tensor;
  /** Every stage's output, first to last (the last is `features`): the perceptual loss's layers. */
  readonly stages: readonly Tensor[];
}

/** x: normalised images [B, inChannels, imageSize, imageSize]. */
export function smallClassifier(x: Tensor, cfg: SmallClassifierConfig): SmallClassifierOutput {
  validate(cfg);
  const g = x.graph;
  if (x.rank !== 4 || x.shape[1] !== cfg.inChannels || x.shape[2] !== cfg.imageSize || x.shape[3] !== cfg.imageSize) {
    throw new ShapeError({ op: "smallClassifier", scope: g.scopePath, expected: `x [B, ${cfg.inChannels}, ${cfg.imageSize}, ${cfg.imageSize}]`, got: fmtShape(x.shape) });
  }
  if (cfg.arch === "residual") return residualClassifier(x, cfg);
  let h = x;
  let channels = cfg.inChannels;
  const stages: Tensor[] = [];
  for (let i = 0; i < cfg.numStages; i++) {
    const out = cfg.width * 2 ** i;
    h = g.scope("stages", () => g.scope(i, () => {
      let y = conv2dLayer(h, "conv1", { inChannels: channels, outChannels: out, kernel: 3, padding: 1, bias: false });
      y = relu(groupNormLayer(y, "norm1", out, GN_GROUPS, GN_EPS));
      y = conv2dLayer(y, "conv2", { inChannels: out, outChannels: out, kernel: 3, stride: 2, padding: 1, bias: false });
      return relu(groupNormLayer(y, "norm2", out, GN_GROUPS, GN_EPS));
    }));
    channels = out;
    stages.push(h);
  }
  return { logits: linear(reduceMean(h, [2, 3]), "head", channels, cfg.numClasses), features: h, stages };
}

function residualClassifier(x: Tensor, cfg: SmallClassifierConfig): SmallClassifierOutput {
  const g = x.graph;
  const conv3 = (t: Tensor, name: string, cin: number, cout: number) => conv2dLayer(t, name, { inChannels: cin, outChannels: cout, kernel: 3, padding: 1, bias: false });
  const norm = (t: Tensor, name: string, c: number) => groupNormLayer(t, name, c, GN_GROUPS, GN_EPS);
  let h = silu(norm(conv3(x, "stem", cfg.inChannels, cfg.width), "stem_norm", cfg.width));
  let channels = cfg.width;
  const stages: Tensor[] = [];
  for (let i = 0; i < cfg.numStages; i++) {
    const out = cfg.width * 2 ** i;
    const input = i > 0 ? avgPool2x2(h) : h;
    h = g.scope("stages", () => g.scope(i, () => {
      const y = norm(conv3(silu(norm(conv3(input, "conv1", channels, out), "norm1", out)), "conv2", out, out), "norm2", out);
      const skip = channels === out ? input : conv2dLayer(input, "skip", { inChannels: channels, outChannels: out, kernel: 1, bias: false });
      return silu(add(y, skip));
    }));
    channels = out;
    stages.push(h);
  }
  return { logits: linear(reduceMean(h, [2, 3]), "head", channels, cfg.numClasses), features: h, stages };
}

/** Mean of each 2x2 block (H, W even): a reshape and a mean, so its gradient is exact and cheap. */
function avgPool2x2(x: Tensor): Tensor {
  const [, c, h, w] = x.shape as [unknown, number, number, number];
  return reduceMean(reshape(x, [-1, c, h / 2, 2, w / 2, 2]), [3, 5], false);
}

export function smallClassifierSpecs(cfg: SmallClassifierConfig): ParamSpec[] {
  const g = new Graph();
  smallClassifier(g.input("x", "float32", [1, cfg.inChannels, cfg.imageSize, cfg.imageSize]), cfg);
  return [...g.paramSpecs.values()];
}

export function smallClassifierParamCount(cfg: SmallClassifierConfig): number {
  return smallClassifierSpecs(cfg).reduce((n, s) => n + s.shape.reduce((a, d) => a * d, 1), 0);
}
