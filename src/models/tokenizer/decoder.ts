// The convolutional decoder (spec 2.4): conv_in from the latent, a mid stage, one stage per level
// from the deepest up (each but the last doubles the resolution), GroupNorm + SiLU and a 3x3 conv
// to image channels. The output is unbounded; callers clamp for display and metrics only.

import type { Tensor } from "../../engine/graph/tensor.js";
import { ShapeError, fmtShape } from "../../engine/errors.js";
import { conv3x3, normAct, residualStage, upsamplingStage } from "./blocks.js";
import { decoderResBlocks, type TokenizerConfig } from "./config.js";
import { bottleneckAttention } from "./bottleneck-attention.js";

/**
 * Stages in execution order, which is also the state-dict order: `up.0` is the deepest level
 * (hidden * m_last -> hidden * m_last), `up.{n-1}` the full-resolution one, without upsampling.
 */
export function decoderLevels(c: TokenizerConfig): { inChannels: number; outChannels: number; upsample: boolean }[] {
  const mult = [...c.channelMult, c.channelMult[c.channelMult.length - 1]!];
  const levels = [];
  for (let level = c.numResolutions - 1; level >= 0; level--) {
    levels.push({ inChannels: c.hiddenChannels * mult[level + 1]!, outChannels: c.hiddenChannels * mult[level]!, upsample: level > 0 });
  }
  return levels;
}

/** zq [B, tokenSize, h, w] -> images [B, numChannels, h*s, w*s], unclamped. Scope: `decoder`. */
export function decoder(zq: Tensor, c: TokenizerConfig): Tensor {
  const g = zq.graph;
  if (zq.rank !== 4 || zq.shape[1] !== c.tokenSize) {
    throw new ShapeError({ op: "decoder", expected: `latents [B, ${c.tokenSize}, h, w]`, got: fmtShape(zq.shape) });
  }
  const n = decoderResBlocks(c);
  return g.scope("decoder", () => {
    const width = c.hiddenChannels * c.channelMult[c.numResolutions - 1]!;
    let h = conv3x3(zq, "conv_in", c.tokenSize, width, { bias: true });
    h = residualStage(h, "mid", width, width, n);
    if (c.midAttention) h = bottleneckAttention(h, "mid_attn", width);
    const levels = decoderLevels(c);
    g.scope("up", () => {
      levels.forEach(({ inChannels, outChannels, upsample }, i) => {
        h = upsample
          ? upsamplingStage(h, String(i), inChannels, outChannels, n)
          : residualStage(h, String(i), inChannels, outChannels, n);
      });
    });
    const out = levels[levels.length - 1]!.outChannels;
    h = normAct(h, "norm_out", out);
    return conv3x3(h, "conv_out", out, c.numChannels, { bias: true });
  });
}
