// Single-head spatial self-attention over the latent grid, as the Taming-VQGAN baseline (spec 6.1
// row 0) places it in the encoder's and decoder's bottleneck ("mid") stage: GroupNorm, 1x1 convs
// q, k, v, softmax(q^T k / sqrt(C)) over all h*w positions, 1x1 `proj_out`, residual. The VQGAN+
// recipe removes it (roadmap step 1); it is an option of the tokenizer config (`mid_attention`),
// off in every released MaskBit config. Composed of ops that already carry VJP rules.

import type { Tensor } from "../../engine/graph/tensor.js";
import { add, matmul, mul, reshape, softmax, transpose } from "../../engine/ops/index.js";
import { conv2dLayer, groupNormLayer } from "../../engine/nn/index.js";
import { ShapeError, fmtShape } from "../../engine/errors.js";

const GN_GROUPS = 32;
const GN_EPS = 1e-6;

/** x [B, C, h, w] -> x + proj_out(attention(GN(x))), same shape. Parameters under `<name>.*`. */
export function bottleneckAttention(x: Tensor, name: string, channels: number): Tensor {
  const g = x.graph;
  const [b, c, h, w] = x.shape;
  if (x.rank !== 4 || c !== channels || typeof h !== "number" || typeof w !== "number" || typeof b !== "number") {
    throw new ShapeError({ op: "bottleneckAttention", scope: `${g.scopePath}.${name}`, expected: `x [B, ${channels}, h, w] with static B, h, w`, got: fmtShape(x.shape) });
  }
  return g.scope(name, () => {
    const n = groupNormLayer(x, "norm", channels, GN_GROUPS, GN_EPS);
    const proj = (key: string, t: Tensor) => conv2dLayer(t, key, { inChannels: channels, outChannels: channels, kernel: 1, bias: true });
    return add(x, proj("proj_out", spatialAttention(proj("q", n), proj("k", n), proj("v", n))));
  });
}

/** q, k, v [B, C, h, w] -> out [B, C, h, w], out[:, :, p] = sum_p' softmax_p'(q_p . k_p' / sqrt(C)) v[:, :, p']. */
export function spatialAttention(q: Tensor, k: Tensor, v: Tensor): Tensor {
  const [b, c, h, w] = q.shape as [number, number, number, number];
  const flat = (t: Tensor) => reshape(t, [b, c, h * w]); // [B, C, P]
  const scores = matmul(transpose(flat(q), [0, 2, 1]), flat(k)); // [B, P(query), P(key)]
  const weights = softmax(mul(scores, 1 / Math.sqrt(c)), -1);
  return reshape(matmul(flat(v), transpose(weights, [0, 2, 1])), [b, c, h, w]);
}
