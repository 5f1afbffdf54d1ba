// The VQGAN+ discriminator (official NLayerDiscriminatorv2, spec 2.7): a 5x5 stem, `numStages`
// stride-2 stages (3x3 conv -> blur or average downsampling -> GroupNorm -> activation), an adaptive
// max pool to a fixed 16x16 map, and a 1x1 + 5x5 head producing one logit per cell.
// Parameter keys are the official state-dict keys (`block_in.0.weight`, `blocks.2.1.kernel`, ...),
// relative to the caller's graph scope.

import { Graph, type Tensor } from "../../engine/graph/tensor.js";
import { frozen } from "../../engine/nn/frozen.js";
import { conv2d, expand, leakyRelu, silu } from "../../engine/ops/index.js";
import { adaptiveMaxPool2d, conv2dLayer, groupNormLayer, samePads } from "../../engine/nn/index.js";
import { HostTensor } from "../../engine/host-tensor.js";
import { ConfigError, ShapeError, fmtShape } from "../../engine/errors.js";
import { field, type ConfigObject } from "../../config/yaml.js";
import { patchGanDiscriminator } from "./patchgan.js";

export type DiscriminatorActivation =
  | { readonly kind: "leaky_relu"; readonly slope: number }
  | { readonly kind: "silu" };

export interface DiscriminatorConfig {
  readonly numChannels: number;
  readonly hiddenChannels: number;
  readonly numStages: number;
  /** Fixed binomial blur then stride 2 (true), or 2x2 average pooling (false). */
  readonly blurResample: boolean;
  readonly blurKernelSize: 3 | 4 | 5;
  readonly activation: DiscriminatorActivation;
  /**
   * "patchgan": the Taming-VQGAN baseline's BatchNorm PatchGAN (patchgan.ts; YAML name "Original"),
   * which reads numChannels, hiddenChannels (ndf) and numLayers only. Default "vqgan+".
   */
  readonly kind?: "vqgan+" | "patchgan";
  /** PatchGAN only: stride-2 4x4 convs (Taming: 3). */
  readonly numLayers?: number;
}

/** `model.discriminator` of every released tokenizer config. */
export const discriminatorOfficial: DiscriminatorConfig = {
  numChannels: 3,
  hiddenChannels: 128,
  numStages: 4,
  blurResample: true,
  blurKernelSize: 4,
  activation: { kind: "leaky_relu", slope: 0.1 },
};

/** Side of the logit map: fixed by the adaptive pool, whatever the input size. */
export const DISCRIMINATOR_GRID = 16;
const GROUPS = 32;
const GN_EPS = 1e-5;
const BLUR_TAPS: Readonly<Record<3 | 4 | 5, readonly number[]>> = { 3: [1, 2, 1], 4: [1, 3, 3, 1], 5: [1, 4, 6, 4, 1] };
const SECTION_KEYS = ["name", "num_channels", "num_stages", "hidden_channels", "blur_resample", "blur_kernel_size", "num_layers"];

/** Parses the official YAML `model.discriminator` section; unknown keys are rejected. */
export function parseDiscriminatorConfig(section: ConfigObject, path = "model.discriminator"): DiscriminatorConfig {
  const unknown = Object.keys(section).filter((k) => !SECTION_KEYS.includes(k));
  if (unknown.length) throw new ConfigError({ op: "parseDiscriminatorConfig", scope: path, expected: `keys among ${SECTION_KEYS.join(", ")}`, got: unknown.join(", ") });
  const name = field.string(section, "name", path, "VQGAN+Discriminator");
  if (name === "Original") return parsePatchGan(section, path);
  if (name !== "VQGAN+Discriminator") {
    throw new ConfigError({ op: "parseDiscriminatorConfig", scope: `${path}.name`, expected: '"VQGAN+Discriminator" or "Original" (the Taming PatchGAN)', got: JSON.stringify(name) });
  }
  if (section.num_layers !== undefined) throw new ConfigError({ op: "parseDiscriminatorConfig", scope: `${path}.num_layers`, expected: 'nothing for "VQGAN+Discriminator" (a PatchGAN option)', got: `num_layers: ${String(section.num_layers)}` });
  const k = field.int(section, "blur_kernel_size", path, 4);
  if (k !== 3 && k !== 4 && k !== 5) throw new ConfigError({ op: "parseDiscriminatorConfig", scope: `${path}.blur_kernel_size`, expected: "3, 4 or 5", got: String(k) });
  const cfg: DiscriminatorConfig = {
    numChannels: field.int(section, "num_channels", path),
    hiddenChannels: field.int(section, "hidden_channels", path),
    numStages: field.int(section, "num_stages", path),
    blurResample: field.bool(section, "blur_resample", path, false),
    blurKernelSize: k,
    activation: { kind: "leaky_relu", slope: 0.1 },
  };
  validate(cfg, path);
  return cfg;
}

/** name "Original": the Taming PatchGAN; only num_channels, hidden_channels and num_layers apply. */
function parsePatchGan(section: ConfigObject, path: string): DiscriminatorConfig {
  for (const k of ["num_stages", "blur_resample", "blur_kernel_size"]) {
    if (section[k] !== undefined) throw new ConfigError({ op: "parseDiscriminatorConfig", scope: `${path}.${k}`, expected: 'nothing for the "Original" PatchGAN', got: String(section[k]) });
  }
  const cfg: DiscriminatorConfig = {
    kind: "patchgan",
    numChannels: field.int(section, "num_channels", path),
    hiddenChannels: field.int(section, "hidden_channels", path),
    numLayers: field.int(section, "num_layers", path, 3),
    numStages: 0, blurResample: false, blurKernelSize: 4, activation: { kind: "leaky_relu", slope: 0.2 },
  };
  validate(cfg, path);
  return cfg;
}

function validate(cfg: DiscriminatorConfig, scope: string): void {
  const bad = (what: string, expected: string, got: unknown) => new ConfigError({ op: "discriminator", scope: `${scope}.${what}`, expected, got: String(got) });
  if (cfg.kind === "patchgan") {
    if (!(Number.isInteger(cfg.numLayers) && cfg.numLayers! >= 1 && cfg.numLayers! <= 6)) throw bad("num_layers", "an integer in [1, 6]", cfg.numLayers);
    if (!(Number.isInteger(cfg.hiddenChannels) && cfg.hiddenChannels >= 1)) throw bad("hidden_channels", "a positive integer", cfg.hiddenChannels);
    if (!(cfg.numChannels >= 1)) throw bad("num_channels", "at least 1", cfg.numChannels);
    return;
  }
  if (!(cfg.numStages >= 1)) throw bad("num_stages", "at least 1", cfg.numStages);
  if (!(cfg.numChannels >= 1)) throw bad("num_channels", "at least 1", cfg.numChannels);
  // Every stage output goes through GroupNorm(32); the narrowest is the first one.
  if (cfg.hiddenChannels % GROUPS !== 0 || cfg.hiddenChannels <= 0) throw bad("hidden_channels", `a positive multiple of ${GROUPS} (GroupNorm groups)`, cfg.hiddenChannels);
}

/** Channels after stage i: hidden * (1, 1, 2, 4, 8, ...)[i + 1]. */
const stageChannels = (cfg: DiscriminatorConfig, i: number): number => cfg.hiddenChannels * 2 ** i;

export interface DiscriminatorOptions {
  /** Declare the weights non-trainable (the generator step's view of D). Default false. */
  readonly frozen?: boolean;
}

/**
 * Logits [B, 1, 16, 16] for images x [B, numChannels, H, W] (any static H, W). Calling it twice in
 * one graph shares the weights (same keys).
 */
export function discriminator(x: Tensor, cfg: DiscriminatorConfig, opts: DiscriminatorOptions = {}): Tensor {
  const g = x.graph;
  if (x.rank !== 4 || x.shape[1] !== cfg.numChannels || typeof x.shape[2] !== "number" || typeof x.shape[3] !== "number") {
    throw new ShapeError({ op: "discriminator", scope: g.scopePath, expected: `x [B, ${cfg.numChannels}, H, W] with static H, W`, got: fmtShape(x.shape) });
  }
  validate(cfg, "discriminator");
  const run = () => (cfg.kind === "patchgan" ? patchGanDiscriminator(x, { numChannels: cfg.numChannels, hiddenChannels: cfg.hiddenChannels, numLayers: cfg.numLayers! }) : forward(x, cfg));
  return opts.frozen ? frozen(g, run) : run();
}

function forward(x: Tensor, cfg: DiscriminatorConfig): Tensor {
  const g = x.graph;
  const act = (t: Tensor) => (cfg.activation.kind === "silu" ? silu(t) : leakyRelu(t, cfg.activation.slope));
  const conv = (t: Tensor, name: string, cin: number, cout: number, kernel: number) =>
    conv2dLayer(t, name, { inChannels: cin, outChannels: cout, kernel, padding: "same" });

  let h = g.scope("block_in", () => act(conv(x, "0", cfg.numChannels, cfg.hiddenChannels, 5)));
  let channels = cfg.hiddenChannels;
  for (let i = 0; i < cfg.numStages; i++) {
    const out = stageChannels(cfg, i);
    h = g.scope("blocks", () => g.scope(i, () => {
      let y = conv(h, "0", channels, out, 3);
      y = cfg.blurResample ? g.scope("1", () => blurDownsample(y, cfg.blurKernelSize)) : averageDownsample(y);
      return act(groupNormLayer(y, "2", out, GROUPS, GN_EPS));
    }));
    channels = out;
  }
  h = adaptiveMaxPool2d(h, [DISCRIMINATOR_GRID, DISCRIMINATOR_GRID]);
  return g.scope("to_logits", () => conv(act(conv(h, "0", channels, channels, 1)), "2", channels, 1, 5));
}

/** The normalised binomial blur kernel (1, 1, k, k): outer(taps, taps) / sum. */
export function blurKernel(size: 3 | 4 | 5): HostTensor {
  const taps = BLUR_TAPS[size];
  const total = taps.reduce((a, b) => a + b, 0) ** 2;
  return HostTensor.f32(taps.flatMap((a) => taps.map((b) => (a * b) / total)), [1, 1, size, size]);
}

/**
 * Depthwise blur with stride 2 and TF-SAME zero padding (1 on every side for k = 4 and even inputs).
 * The kernel is the state-dict buffer `kernel` (1, 1, k, k), shared by all channels.
 */
function blurDownsample(x: Tensor, size: 3 | 4 | 5): Tensor {
  const g = x.graph;
  const kernel = g.param("kernel", [1, 1, size, size], { kind: "value", value: () => blurKernel(size) }, { trainable: false });
  const c = x.shape[1] as number, h = x.shape[2] as number, w = x.shape[3] as number;
  const [t, b] = samePads(h, size, 2, 1);
  const [l, r] = samePads(w, size, 2, 1);
  return conv2d(x, expand(kernel, [c, 1, size, size]), { strides: [2, 2], pads: [t, l, b, r], dilations: [1, 1], group: c });
}

/** AvgPool2d(2, 2) (floor mode) as a depthwise conv with a constant 1/4 kernel: no state-dict entry. */
function averageDownsample(x: Tensor): Tensor {
  const c = x.shape[1] as number;
  const k = x.graph.constant(HostTensor.f32(new Array(4 * c).fill(0.25), [c, 1, 2, 2]));
  return conv2d(x, k, { strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1], group: c });
}

/** Number of trainable parameters (buffers excluded): 7,431,297 for the official config. */
export function discriminatorParamCount(cfg: DiscriminatorConfig): number {
  const g = new Graph();
  discriminator(g.input("x", "float32", [1, cfg.numChannels, 64, 64]), cfg);
  let n = 0;
  for (const s of g.paramSpecs.values()) if (s.trainable) n += s.shape.reduce((a, d) => a * d, 1);
  return n;
}
