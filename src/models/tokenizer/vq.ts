// Vector quantization against a learned table, as in the VQGAN+ baselines (spec 2.5, last
// paragraph): each position takes its nearest `quantize.embedding.weight` row by squared L2
// distance (first index on ties, like torch.argmin); loss = commitment * mean((sg(q) - z)^2)
// + mean((q - sg(z))^2); straight-through to z.

import type { Graph, Tensor } from "../../engine/graph/tensor.js";
import {
  add, argMax, div, gather, matmul, maximum, mul, neg, reduceMean, reduceSum, reshape, sqrt, square, stopGradient, sub, transpose,
} from "../../engine/ops/index.js";
import { ShapeError, fmtShape } from "../../engine/errors.js";
import type { VqConfig } from "./config.js";
import { entropyFromAffinities } from "./entropy.js";
import type { QuantizeOptions, QuantizerOutput } from "./quantizer.js";

/** `embedding.weight` [N, D], initialised U(-1/N, 1/N) as the official module does. */
function codebook(g: Graph, dim: number, cfg: VqConfig): Tensor {
  const n = cfg.codebookSize;
  const table = g.scope("embedding", () => g.param("weight", [n, dim], { kind: "uniform", bound: 1 / n }));
  return cfg.l2Normalize ? l2Normalize(table) : table;
}

/** F.normalize(x, dim=-1): x / max(||x||, 1e-12) along the last axis of [N, D]. */
function l2Normalize(x: Tensor): Tensor {
  return div(x, maximum(sqrt(reduceSum(square(x), [1], true)), 1e-12));
}

export function vectorQuantize(z: Tensor, cfg: VqConfig, o: QuantizeOptions): QuantizerOutput {
  const g = z.graph;
  const [b, dim, h, w] = z.shape;
  if (z.rank !== 4 || typeof dim !== "number") {
    throw new ShapeError({ op: "vectorQuantize", scope: g.scopePath, expected: "z [B, D, h, w] with static D", got: fmtShape(z.shape) });
  }
  const table = codebook(g, dim, cfg);
  let rows = reshape(transpose(z, [0, 2, 3, 1]), [-1, dim]);
  if (cfg.l2Normalize) rows = l2Normalize(rows);

  // ||z||^2 + ||e||^2 - 2 z.e, summed in the official order so near-ties resolve the same way.
  const dist = sub(
    add(reduceSum(square(rows), [1], true), reshape(reduceSum(square(table), [1]), [1, cfg.codebookSize])),
    mul(matmul(rows, transpose(table, [1, 0])), 2),
  );
  const flatIds = argMax(neg(dist), 1);
  const chosen = gather(table, flatIds, 0);

  const commitmentLoss = mul(reduceMean(square(sub(stopGradient(chosen), rows))), cfg.commitmentCost);
  const codebookLoss = reduceMean(square(sub(chosen, stopGradient(rows))));
  const zero = g.scalar(0, z.dtype);
  let entropy = { entropyLoss: zero, perSampleEntropy: zero, avgEntropy: zero };
  if (o.training && cfg.entropyLossWeight !== 0) {
    const { perSample, avg } = entropyFromAffinities(neg(dist), cfg.entropyTemperature, cfg.entropyGamma);
    entropy = { entropyLoss: mul(sub(perSample, avg), cfg.entropyLossWeight), perSampleEntropy: perSample, avgEntropy: avg };
  }
  const weightedEntropy = o.entropyMultiplier ? mul(entropy.entropyLoss, o.entropyMultiplier) : entropy.entropyLoss;

  const toImage = (t: Tensor) => transpose(reshape(t, [b!, h!, w!, dim]), [0, 3, 1, 2]);
  return {
    zQuantized: toImage(add(rows, stopGradient(sub(chosen, rows)))),
    latent: toImage(stopGradient(chosen)),
    ids: reshape(flatIds, [b!, h!, w!]),
    losses: { quantizerLoss: add(add(commitmentLoss, codebookLoss), weightedEntropy), commitmentLoss, codebookLoss, ...entropy },
  };
}

/** ids [B, h, w] int64 -> codebook rows [B, D, h, w]. */
export function vqIdsToLatent(ids: Tensor, dim: number, cfg: VqConfig): Tensor {
  if (ids.dtype !== "int64" || ids.rank !== 3) {
    throw new ShapeError({ op: "vqIdsToLatent", scope: ids.graph.scopePath, expected: "ids int64[B, h, w]", got: `${ids}` });
  }
  return transpose(gather(codebook(ids.graph, dim, cfg), ids, 0), [0, 3, 1, 2]);
}
