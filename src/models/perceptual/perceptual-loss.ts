// Perceptual loss on a frozen classifier (spec 2.6): both images are resized to the network's
// input size, normalised per channel, and compared by the MSE of the classifier's logits
// (optionally plus the MSE of its last feature map). Gradients flow into both images; the
// network's weights are declared non-trainable.

import type { Tensor } from "../../engine/graph/tensor.js";
import { add, div, mul, reduceMean, sub } from "../../engine/ops/index.js";
import { frozen } from "../../engine/nn/frozen.js";
import { resizeBilinear } from "../../engine/nn/index.js";
import { HostTensor } from "../../engine/host-tensor.js";
import { ShapeError, fmtShape } from "../../engine/errors.js";
import { resnet50 } from "./resnet50.js";
import { smallClassifier, type SmallClassifierConfig } from "./small-classifier.js";

export interface PerceptualNet {
  readonly name: string;
  readonly channels: number;
  /** [H, W] the network sees; images of another size are resized (bilinear, antialiased). */
  readonly inputSize: readonly [number, number];
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** Builds the network on a normalised batch; parameters go under the caller's scope. */
  forward(x: Tensor): { readonly logits: Tensor; readonly features: Tensor; readonly stages?: readonly Tensor[] };
}

/** ImageNet statistics used by torchvision's classifiers. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** torchvision ResNet-50 at 224x224 with ImageNet normalisation (the official perceptual net). */
export const resnet50Perceptual: PerceptualNet = {
  name: "resnet50",
  channels: 3,
  inputSize: [224, 224],
  mean: IMAGENET_MEAN,
  std: IMAGENET_STD,
  forward: (x) => resnet50(x),
};

/** `name` says which loss uses it: "small_classifier" (logit MSE) or "small_classifier_lpips" (lpips-loss.ts). */
export function smallClassifierPerceptual(cfg: SmallClassifierConfig, name: "small_classifier" | "small_classifier_lpips" = "small_classifier"): PerceptualNet {
  return {
    name,
    channels: cfg.inChannels,
    inputSize: [cfg.imageSize, cfg.imageSize],
    mean: cfg.mean,
    std: cfg.std,
    forward: (x) => smallClassifier(x, cfg),
  };
}

/** [0, 1] images [B, C, H, W] -> the network's input: resized to inputSize, then (x - mean) / std. */
export function perceptualInput(x: Tensor, net: PerceptualNet): Tensor {
  const g = x.graph;
  if (x.rank !== 4 || x.shape[1] !== net.channels || typeof x.shape[2] !== "number" || typeof x.shape[3] !== "number") {
    throw new ShapeError({ op: "perceptualInput", scope: g.scopePath, expected: `images [B, ${net.channels}, H, W] with static H, W for ${net.name}`, got: fmtShape(x.shape) });
  }
  // Antialiasing only changes downsampling; upsampling equals plain half-pixel bilinear.
  const resized = resizeBilinear(x, net.inputSize, { kind: "torch", antialias: true });
  const perChannel = (v: readonly number[]) => g.constant(HostTensor.f32(v, [1, v.length, 1, 1]));
  return div(sub(resized, perChannel(net.mean)), perChannel(net.std));
}

export interface PerceptualLossOptions {
  /** Logits only (official default), or last feature map + logits. */
  readonly onLogits?: boolean;
  /** Scope of the network's parameters (default: the caller's scope). */
  readonly scope?: string;
}

export interface PerceptualLossResult {
  /** Scalar loss (unweighted). */
  readonly loss: Tensor;
  readonly logitsX: Tensor;
  readonly logitsXHat: Tensor;
}

/** MSE between the frozen network's outputs for x and xHat (two passes sharing weights). */
export function perceptualLoss(x: Tensor, xHat: Tensor, net: PerceptualNet, opts: PerceptualLossOptions = {}): PerceptualLossResult {
  const g = x.graph;
  if (fmtShape(x.shape) !== fmtShape(xHat.shape)) {
    throw new ShapeError({ op: "perceptualLoss", scope: g.scopePath, expected: `x and xHat of one shape`, got: `${fmtShape(x.shape)} and ${fmtShape(xHat.shape)}` });
  }
  const run = (img: Tensor) => frozen(g, () => (opts.scope ? g.scope(opts.scope, () => net.forward(perceptualInput(img, net))) : net.forward(perceptualInput(img, net))));
  // Separate passes (not one concatenated batch): the backward then only traverses the xHat
  // branch, which is the only one that depends on trained parameters.
  const a = run(x), b = run(xHat);
  const mse = (p: Tensor, q: Tensor) => { const d = sub(p, q); return reduceMean(mul(d, d)); };
  let loss = mse(a.logits, b.logits);
  if (opts.onLogits === false) loss = add(mse(a.features, b.features), loss);
  return { loss, logitsX: a.logits, logitsXHat: b.logits };
}
