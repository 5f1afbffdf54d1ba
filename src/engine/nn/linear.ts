// nn.Linear (`weight` [out, in], `bias` [out]; y = x W^T + b) and nn.Embedding.

import type { Init, Tensor } from "../graph/tensor.js";
import { add, gather, matmul, reducedMatmul, transpose } from "../ops/index.js";
import { ShapeError, fmtShape } from "../errors.js";
import { torchDefault } from "./init.js";

export interface LinearOptions {
  readonly bias?: boolean;
  readonly init?: Init;
  readonly biasInit?: Init;
}

export function linear(x: Tensor, name: string, inFeatures: number, outFeatures: number, o: LinearOptions = {}): Tensor {
  const g = x.graph;
  if (x.shape[x.rank - 1] !== inFeatures) {
    throw new ShapeError({ op: "linear", scope: g.scopePath ? `${g.scopePath}.${name}` : name, expected: `last axis ${inFeatures}`, got: fmtShape(x.shape) });
  }
  return g.scope(name, () => {
    const w = g.param("weight", [outFeatures, inFeatures], o.init ?? torchDefault(inFeatures));
    const y = projectByWeight(x, w);
    return o.bias === false ? y : add(y, g.param("bias", [outFeatures], o.biasInit ?? torchDefault(inFeatures)));
  });
}

/**
 * x @ w^T for a parameter w [out, in]: the plain float32 matmul, or, when the graph is built for
 * reduced-precision inference and knows this weight (Graph.reducedWeights), its baked fp16/int8 copy.
 */
export function projectByWeight(x: Tensor, w: Tensor): Tensor {
  const reduced = w.source.kind === "param" ? x.graph.reducedWeights?.get(w.source.key) : undefined;
  return reduced ? reducedMatmul(x, reduced) : matmul(x, transpose(w, [1, 0]));
}

/** Rows of `<name>.weight` [num, dim] picked by integer ids. */
export function embedding(ids: Tensor, name: string, num: number, dim: number, init: Init): Tensor {
  const g = ids.graph;
  return g.scope(name, () => gather(g.param("weight", [num, dim], init), ids, 0));
}
