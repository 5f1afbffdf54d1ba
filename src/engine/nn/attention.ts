// Multi-head self-attention with PyTorch nn.MultiheadAttention's parameters: packed
// `in_proj_weight` [3D, D] (rows Wq; Wk; Wv), `in_proj_bias` [3D], `out_proj.weight|bias`.

import type { Init, Tensor } from "../graph/tensor.js";
import { add, matmul, mul, reshape, softmax, split, transpose } from "../ops/index.js";
import { ShapeError, fmtShape } from "../errors.js";
import { linear, projectByWeight } from "./linear.js";
import { dropout } from "./dropout.js";
import type { ForwardContext } from "./context.js";

export interface AttentionOptions {
  readonly dim: number;
  readonly heads: number;
  /** Dropout on the attention probabilities. */
  readonly dropout?: number;
  readonly init?: Init;
  readonly biasInit?: Init;
  /** Init of out_proj.weight when it differs from in_proj_weight's (default: `init`). */
  readonly outInit?: Init;
}

/** x: [B, T, D] -> [B, T, D]; bidirectional (no mask). */
export function selfAttention(x: Tensor, name: string, o: AttentionOptions, ctx: ForwardContext): Tensor {
  const g = x.graph;
  const [b, t, d] = x.shape;
  if (x.rank !== 3 || d !== o.dim || o.dim % o.heads !== 0) {
    throw new ShapeError({ op: "selfAttention", scope: name, expected: `x [B, T, ${o.dim}] with ${o.dim} divisible by ${o.heads} heads`, got: fmtShape(x.shape) });
  }
  const hd = o.dim / o.heads;
  return g.scope(name, () => {
    const w = g.param("in_proj_weight", [3 * o.dim, o.dim], o.init ?? { kind: "uniform", bound: Math.sqrt(6 / (4 * o.dim)) });
    const bias = g.param("in_proj_bias", [3 * o.dim], o.biasInit ?? { kind: "constant", value: 0 });
    const qkv = add(projectByWeight(x, w), bias); // [B, T, 3D]
    // q, k, v cut off the last axis in one Split and moved head-major, [B, T, H, hd] -> [B, H, T, hd]:
    // 4-D transposes that keep hd innermost. (One 5-D transpose of the packed [B, T, 3, H, hd]
    // let ORT's transpose optimizer build 5-D transposes that move the innermost axis, at a
    // quarter of the memory bandwidth: 17 ms of the Fashion-MNIST generator's 330 ms step.)
    const [q, k, v] = split(qkv, 2, [o.dim, o.dim, o.dim]).map((p) => transpose(reshape(p, [b!, t!, o.heads, hd]), [0, 2, 1, 3])) as [Tensor, Tensor, Tensor];
    const scores = mul(matmul(q, transpose(k, [0, 1, 3, 2])), 1 / Math.sqrt(hd));
    const probs = dropout(softmax(scores, -1), o.dropout ?? 0, ctx);
    const heads = matmul(probs, v); // [B, H, T, hd]
    const merged = reshape(transpose(heads, [0, 2, 1, 3]), [b!, t!, o.dim]);
    return linear(merged, "out_proj", o.dim, o.dim, { init: o.outInit ?? o.init, biasInit: o.biasInit ?? { kind: "constant", value: 0 } });
  });
}
