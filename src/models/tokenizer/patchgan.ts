// The Taming-VQGAN discriminator (Isola et al.'s PatchGAN, as Taming's NLayerDiscriminator), the
// roadmap's step-0 baseline (spec 6.1): 4x4 convolutions with padding 1, stride 2 for the first
// `numLayers` of them, then one stride-1 conv and a 1-channel stride-1 head; BatchNorm (training
// mode, batch statistics, see engine/nn/batch-norm.ts for why no running statistics are kept)
// after every conv but the first and the last; LeakyReLU 0.2. Widths ndf * min(2^n, 8).
// A 32x32 input gives a 6x6 logit map with numLayers = 2 (32 -> 16 -> 8 -> 7 -> 6).
// Keys `main.<i>.weight|bias`, i the nn.Sequential index of the original layout.
// Init: conv weights N(0, 0.02) as Taming's weights_init; BatchNorm scale 1 (Taming draws
// N(1, 0.02); the Init recipes here have no mean, and the difference is immaterial at this scale).

import type { Tensor } from "../../engine/graph/tensor.js";
import { conv2d, leakyRelu } from "../../engine/ops/index.js";
import { batchNormTrainingLayer, zeros } from "../../engine/nn/index.js";
import { ShapeError, fmtShape } from "../../engine/errors.js";

export interface PatchGanConfig {
  readonly numChannels: number;
  /** ndf: width of the first conv. */
  readonly hiddenChannels: number;
  /** Stride-2 convs (Taming default 3). */
  readonly numLayers: number;
}

const SLOPE = 0.2;
const width = (cfg: PatchGanConfig, n: number): number => cfg.hiddenChannels * Math.min(2 ** n, 8);

/** Logits [B, 1, h', w'] for images [B, C, H, W]; H, W must leave a map of at least 1x1. */
export function patchGanDiscriminator(x: Tensor, cfg: PatchGanConfig): Tensor {
  const g = x.graph;
  const [, c, h, w] = x.shape;
  const minSide = 2 ** cfg.numLayers * 2;
  if (x.rank !== 4 || c !== cfg.numChannels || typeof h !== "number" || typeof w !== "number" || h < minSide || w < minSide) {
    throw new ShapeError({ op: "patchGanDiscriminator", scope: g.scopePath, expected: `x [B, ${cfg.numChannels}, H, W] with static H, W >= ${minSide}`, got: fmtShape(x.shape) });
  }
  return g.scope("main", () => {
    let index = 0;
    const conv = (t: Tensor, cin: number, cout: number, stride: number, bias: boolean): Tensor => {
      const key = String(index++);
      return g.scope(key, () => {
        const weight = g.param("weight", [cout, cin, 4, 4], { kind: "normal", std: 0.02 });
        const b = bias ? g.param("bias", [cout], zeros) : undefined;
        return conv2d(t, weight, { strides: [stride, stride], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 }, b);
      });
    };
    const bnAct = (t: Tensor, channels: number): Tensor => {
      const y = batchNormTrainingLayer(t, String(index++), channels);
      index++; // the LeakyReLU's Sequential slot
      return leakyRelu(y, SLOPE);
    };
    let t = leakyRelu(conv(x, cfg.numChannels, cfg.hiddenChannels, 2, true), SLOPE);
    index++;
    let channels = cfg.hiddenChannels;
    for (let n = 1; n < cfg.numLayers; n++) {
      t = bnAct(conv(t, channels, width(cfg, n), 2, false), width(cfg, n));
      channels = width(cfg, n);
    }
    t = bnAct(conv(t, channels, width(cfg, cfg.numLayers), 1, false), width(cfg, cfg.numLayers));
    return conv(t, width(cfg, cfg.numLayers), 1, 1, true);
  });
}
