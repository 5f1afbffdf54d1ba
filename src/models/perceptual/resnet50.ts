// torchvision ResNet-50 (v1.5: the stride sits on the 3x3 conv of each bottleneck) in inference
// mode, with torchvision's state-dict keys (conv1, bn1, layer1.0.conv1, layer1.0.downsample.0, fc,
// ...), so that IMAGENET1K_V1 weights load strictly. BatchNorm uses its running statistics; it is
// folded into the preceding conv's weight and bias inside the graph (one scaled conv instead of
// a conv plus two passes over the activation), which keeps the state dict unchanged.

import { Graph, type ParamSpec, type Tensor } from "../../engine/graph/tensor.js";
import { add, conv2d, maxPool, mul, reciprocal, reduceMean, relu, reshape, sqrt, sub } from "../../engine/ops/index.js";
import { linear, ones, torchDefault, zeros } from "../../engine/nn/index.js";
import { HostTensor } from "../../engine/host-tensor.js";
import { ParamStore } from "../../engine/params.js";
import { CheckpointError, ConfigError, ShapeError, fmtShape } from "../../engine/errors.js";
import { readSafetensors, errorText } from "../../io/safetensors.js";
import { readTorchCheckpoint } from "../../io/torch-checkpoint.js";
import { fileSystem } from "../../io/platform.js";

export const RESNET50_BN_EPS = 1e-5;
/** Trainable parameters of torchvision resnet50() (buffers excluded). */
export const RESNET50_PARAM_COUNT = 25_557_032;
/** (blocks, bottleneck width) per stage; output channels are 4x the width. */
const STAGES: readonly (readonly [number, number])[] = [[3, 64], [4, 128], [6, 256], [3, 512]];
const EXPANSION = 4;

export interface ResNet50Output {
  /** [B, numClasses] */
  readonly logits: Tensor;
  /** layer4 output [B, 2048, H/32, W/32] (the perceptual "features" option). */
  readonly features: Tensor;
}

/**
 * x: normalised images [B, 3, H, W] (static H, W; 224 for ImageNet weights). Parameters are
 * declared under the caller's scope with torchvision's names.
 */
export function resnet50(x: Tensor, numClasses = 1000): ResNet50Output {
  const g = x.graph;
  if (x.rank !== 4 || x.shape[1] !== 3 || typeof x.shape[2] !== "number" || typeof x.shape[3] !== "number") {
    throw new ShapeError({ op: "resnet50", scope: g.scopePath, expected: "x [B, 3, H, W] with static H, W", got: fmtShape(x.shape) });
  }
  let h = relu(convBn(x, "conv1", "bn1", 3, 64, 7, 2, 3));
  h = maxPool(h, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  let channels = 64;
  STAGES.forEach(([blocks, width], s) => {
    g.scope(`layer${s + 1}`, () => {
      for (let b = 0; b < blocks; b++) {
        const stride = s > 0 && b === 0 ? 2 : 1;
        h = g.scope(b, () => bottleneck(h, channels, width, stride));
        channels = width * EXPANSION;
      }
    });
  });
  const features = h;
  const pooled = reduceMean(features, [2, 3]);
  return { logits: linear(pooled, "fc", channels, numClasses), features };
}

function bottleneck(x: Tensor, cin: number, width: number, stride: number): Tensor {
  const cout = width * EXPANSION;
  let h = relu(convBn(x, "conv1", "bn1", cin, width, 1, 1, 0));
  h = relu(convBn(h, "conv2", "bn2", width, width, 3, stride, 1));
  h = convBn(h, "conv3", "bn3", width, cout, 1, 1, 0);
  const shortcut = stride !== 1 || cin !== cout ? convBn(x, "downsample.0", "downsample.1", cin, cout, 1, stride, 0) : x;
  return relu(add(h, shortcut));
}

/** Bias-free conv followed by eval-mode BatchNorm, folded: w' = w * s, b' = beta - mean * s, s = gamma / sqrt(var + eps). */
function convBn(x: Tensor, convName: string, bnName: string, cin: number, cout: number, k: number, stride: number, pad: number): Tensor {
  const g = x.graph;
  const weight = g.scope(convName, () => g.param("weight", [cout, cin, k, k], torchDefault(cin * k * k)));
  const bn = g.scope(bnName, () => ({
    gamma: g.param("weight", [cout], ones),
    beta: g.param("bias", [cout], zeros),
    mean: g.param("running_mean", [cout], zeros, { trainable: false }),
    variance: g.param("running_var", [cout], ones, { trainable: false }),
    // Never read in eval mode, but part of torchvision's state dict.
    tracked: g.param("num_batches_tracked", [], { kind: "value", value: () => HostTensor.i64([0], []) }, { dtype: "int64", trainable: false }),
  }));
  const scale = mul(bn.gamma, reciprocal(sqrt(add(bn.variance, RESNET50_BN_EPS))));
  const folded = mul(weight, reshape(scale, [cout, 1, 1, 1]));
  const bias = sub(bn.beta, mul(bn.mean, scale));
  return conv2d(x, folded, { strides: [stride, stride], pads: [pad, pad, pad, pad], dilations: [1, 1], group: 1 }, bias);
}

/** The ResNet-50 state-dict specs (parameters and buffers, torchvision order), at the root scope. */
export function resnet50Specs(numClasses = 1000): ParamSpec[] {
  const g = new Graph();
  resnet50(g.input("x", "float32", [1, 3, 224, 224]), numClasses);
  return [...g.paramSpecs.values()];
}

/** Sum of trainable parameter sizes: 25,557,032 for 1000 classes. */
export function resnet50ParamCount(numClasses = 1000): number {
  return resnet50Specs(numClasses).filter((s) => s.trainable).reduce((n, s) => n + s.shape.reduce((a, d) => a * d, 1), 0);
}

/**
 * Strictly loads a torchvision ResNet-50 state dict (e.g. read from safetensors or a torch .pth),
 * then re-keys it under `prefix` (e.g. "perceptual_loss.model." for the loss graphs). Like
 * PyTorch, a missing `num_batches_tracked` is accepted (older torchvision files lack it); every
 * other missing, unexpected or mis-shaped key is an error listing all problems.
 */
export function loadResNet50(source: ReadonlyMap<string, HostTensor>, prefix = "", numClasses = 1000): ParamStore {
  const specs = resnet50Specs(numClasses);
  const filled = new Map(source);
  for (const s of specs) if (s.key.endsWith(".num_batches_tracked") && !filled.has(s.key)) filled.set(s.key, HostTensor.i64([0], []));
  const store = ParamStore.loadStrict(specs, filled, "ResNet-50 state dict");
  return prefix ? new ParamStore(store.keys().map((k) => [prefix + k, store.get(k)!])) : store;
}

/**
 * Reads ResNet-50 weights from a file and loads them strictly (see loadResNet50): a safetensors
 * file, or a `torch.save` state dict such as torchvision's resnet50-0676ba61.pth (told apart by
 * the zip signature, not the file name).
 */
export function readResNet50Weights(source: string | Uint8Array, prefix = "", numClasses = 1000): ParamStore {
  let bytes: Uint8Array;
  try {
    bytes = typeof source === "string" ? fileSystem("readResNet50Weights", source).readFile(source) : source;
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new CheckpointError({ op: "readResNet50Weights", scope: String(source), expected: "a readable weights file", got: errorText(e) });
  }
  const name = typeof source === "string" ? source : "<bytes>";
  return loadResNet50(isZip(bytes) ? readTorchCheckpoint(bytes, name) : readSafetensors(bytes, name).tensors, prefix, numClasses);
}

function isZip(head: Uint8Array): boolean {
  return head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04; // "PK\3\4"
}
