// Inverted dropout whose mask comes from the graph's counter-based RNG (ops/random.ts), so a
// training run is reproducible from its seed and resumable from a checkpoint.

import type { Tensor } from "../graph/tensor.js";
import { greaterOrEqual, mul, randomUniform, where } from "../ops/index.js";
import { ShapeError } from "../errors.js";
import type { ForwardContext } from "./context.js";

export function dropout(x: Tensor, p: number, ctx: ForwardContext): Tensor {
  if (!ctx.training || p === 0) return x;
  if (!ctx.seed) throw new ShapeError({ op: "dropout", scope: x.graph.scopePath, expected: "a seed tensor in the training ForwardContext", got: "none" });
  const keep = greaterOrEqual(randomUniform(x, ctx.seed, ctx.nextSalt()), p);
  return where(keep, mul(x, 1 / (1 - p)), 0);
}
