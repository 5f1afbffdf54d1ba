// Building blocks shared by the tokenizer's encoder and decoder (spec 2.2): GroupNorm(32, 1e-6),
// SiLU, TF-SAME convolutions, the residual block with the official shortcut quirk, and the three
// stage kinds. Parameter names follow the official state dict (`res_blocks.0.norm1.weight`, ...)
// relative to the caller's graph scope.

import type { Tensor } from "../../engine/graph/tensor.js";
import { add, reduceMean, reshape, silu, slice, upsampleNearest } from "../../engine/ops/index.js";
import { conv2dLayer, groupNormLayer } from "../../engine/nn/index.js";
import { ShapeError, fmtShape } from "../../engine/errors.js";

const GN_GROUPS = 32;
const GN_EPS = 1e-6;

/** GroupNorm(32 groups, eps 1e-6, affine) then SiLU: the pre-activation used everywhere. */
export function normAct(x: Tensor, name: string, channels: number): Tensor {
  return silu(groupNormLayer(x, name, channels, GN_GROUPS, GN_EPS));
}

/** 3x3 TF-SAME conv; stride 2 on an even input pads only bottom/right, as the official Conv2dSame. */
export function conv3x3(x: Tensor, name: string, inChannels: number, outChannels: number, o: { bias: boolean; stride?: number }): Tensor {
  return conv2dLayer(x, name, { inChannels, outChannels, kernel: 3, stride: o.stride ?? 1, padding: "same", bias: o.bias });
}

/**
 * h = conv2(SiLU(GN2(conv1(SiLU(GN1(x)))))), both 3x3 without bias. Output h + x, or, when the
 * channel count changes, h + nin_shortcut(h): the official block applies its 1x1 (out, out)
 * shortcut to h and drops x. That is not textbook ResNet, but the released weights expect it.
 */
export function residualBlock(x: Tensor, name: string, inChannels: number, outChannels: number): Tensor {
  const g = x.graph;
  return g.scope(name, () => {
    let h = conv3x3(normAct(x, "norm1", inChannels), "conv1", inChannels, outChannels, { bias: false });
    h = conv3x3(normAct(h, "norm2", outChannels), "conv2", outChannels, outChannels, { bias: false });
    if (inChannels === outChannels) return add(h, x);
    return add(h, conv2dLayer(h, "nin_shortcut", { inChannels: outChannels, outChannels, kernel: 1, bias: false }));
  });
}

/** `res_blocks.0..n-1`: the first block maps in -> out channels, the rest keep out. */
function resBlocks(x: Tensor, inChannels: number, outChannels: number, n: number): Tensor {
  const g = x.graph;
  return g.scope("res_blocks", () => {
    let h = x;
    for (let i = 0; i < n; i++) h = residualBlock(h, String(i), i === 0 ? inChannels : outChannels, outChannels);
    return h;
  });
}

/** A level without resampling (the encoder's deepest level, `mid`, the decoder's last level). */
export function residualStage(x: Tensor, name: string, inChannels: number, outChannels: number, n: number): Tensor {
  return x.graph.scope(name, () => resBlocks(x, inChannels, outChannels, n));
}

/** Residual blocks, then halve the resolution: `down_conv` (3x3, stride 2, bias) or 2x2 average pooling. */
export function downsamplingStage(x: Tensor, name: string, inChannels: number, outChannels: number, n: number, withConv: boolean): Tensor {
  return x.graph.scope(name, () => {
    const h = resBlocks(x, inChannels, outChannels, n);
    return withConv ? conv3x3(h, "down_conv", outChannels, outChannels, { bias: true, stride: 2 }) : avgPool2x2(h);
  });
}

/** Residual blocks, nearest-neighbour x2, then `upsample_conv` (3x3, bias). */
export function upsamplingStage(x: Tensor, name: string, inChannels: number, outChannels: number, n: number): Tensor {
  return x.graph.scope(name, () => {
    const h = resBlocks(x, inChannels, outChannels, n);
    return conv3x3(upsampleNearest(h, 2), "upsample_conv", outChannels, outChannels, { bias: true });
  });
}

/** PyTorch avg_pool2d(kernel 2, stride 2): an odd last row/column is dropped, as floor division does. */
export function avgPool2x2(x: Tensor): Tensor {
  const [b, c, h, w] = x.shape;
  if (x.rank !== 4 || typeof h !== "number" || typeof w !== "number" || h < 2 || w < 2) {
    throw new ShapeError({ op: "avgPool2x2", scope: x.graph.scopePath, expected: "x [B, C, H, W] with static H, W >= 2", got: fmtShape(x.shape) });
  }
  const [ho, wo] = [Math.floor(h / 2), Math.floor(w / 2)];
  const even = h % 2 || w % 2 ? slice(x, [2, 3], [0, 0], [2 * ho, 2 * wo]) : x;
  return reduceMean(reshape(even, [b!, c!, ho, 2, wo, 2]), [3, 5]);
}
