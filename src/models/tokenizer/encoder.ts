// The convolutional encoder (spec 2.3): conv_in, one stage per level (all but the last halve the
// resolution), a mid stage, GroupNorm + SiLU, and a 1x1 conv to the latent channels. There is no
// attention and no projection after conv_out: for LFQ its K outputs are the bits' logits.

import type { Tensor } from "../../engine/graph/tensor.js";
import { conv2dLayer } from "../../engine/nn/index.js";
import { ShapeError, fmtShape } from "../../engine/errors.js";
import { conv3x3, downsamplingStage, normAct, residualStage } from "./blocks.js";
import type { TokenizerConfig } from "./config.js";
import { bottleneckAttention } from "./bottleneck-attention.js";

/** Input channel widths per level: hidden * (1, m_0, m_1, ...)[i] -> hidden * m_i. */
export function encoderLevels(c: TokenizerConfig): { inChannels: number; outChannels: number }[] {
  const mult = [1, ...c.channelMult];
  return Array.from({ length: c.numResolutions }, (_, i) => ({ inChannels: c.hiddenChannels * mult[i]!, outChannels: c.hiddenChannels * mult[i + 1]! }));
}

/** x [B, C, H, W] in [0, 1] -> z [B, tokenSize, ceil(H/s), ceil(W/s)], s = 2^(numResolutions-1). Scope: `encoder`. */
export function encoder(x: Tensor, c: TokenizerConfig): Tensor {
  const g = x.graph;
  if (x.rank !== 4 || x.shape[1] !== c.numChannels) {
    throw new ShapeError({ op: "encoder", expected: `images [B, ${c.numChannels}, H, W]`, got: fmtShape(x.shape) });
  }
  return g.scope("encoder", () => {
    let h = conv3x3(x, "conv_in", c.numChannels, c.hiddenChannels, { bias: false });
    const levels = encoderLevels(c);
    g.scope("down", () => {
      levels.forEach(({ inChannels, outChannels }, i) => {
        const last = i === levels.length - 1;
        h = last
          ? residualStage(h, String(i), inChannels, outChannels, c.numResBlocks)
          : downsamplingStage(h, String(i), inChannels, outChannels, c.numResBlocks, c.sampleWithConv);
      });
    });
    const width = levels[levels.length - 1]!.outChannels;
    h = residualStage(h, "mid", width, width, c.numResBlocks);
    if (c.midAttention) h = bottleneckAttention(h, "mid_attn", width);
    h = normAct(h, "norm_out", width);
    return conv2dLayer(h, "conv_out", { inChannels: width, outChannels: c.tokenSize, kernel: 1, bias: true });
  });
}
