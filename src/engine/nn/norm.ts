// Normalisation layers with PyTorch names (`weight` = scale, `bias`) and init (1, 0).

import type { Tensor } from "../graph/tensor.js";
import { groupNorm, layerNorm } from "../ops/index.js";
import { ones, zeros } from "./init.js";

export function groupNormLayer(x: Tensor, name: string, channels: number, groups: number, eps: number): Tensor {
  const g = x.graph;
  return g.scope(name, () => groupNorm(x, g.param("weight", [channels], ones), g.param("bias", [channels], zeros), groups, eps));
}

export function layerNormLayer(x: Tensor, name: string, dim: number, eps: number): Tensor {
  const g = x.graph;
  return g.scope(name, () => layerNorm(x, g.param("weight", [dim], ones), g.param("bias", [dim], zeros), eps));
}
