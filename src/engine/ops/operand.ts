// Turning JS numbers into graph scalars of the right dtype, so `mul(x, 0.5)` reads naturally.

import { DTypeError } from "../errors.js";
import type { Tensor } from "../graph/tensor.js";

export type Operand = Tensor | number;

/** Lifts numbers to scalar constants of the tensor operand's dtype. */
export function lift(a: Operand, b: Operand): [Tensor, Tensor] {
  if (typeof a === "number" && typeof b === "number") throw new DTypeError({ op: "lift", expected: "at least one tensor operand", got: "two numbers" });
  const ref = (typeof a === "number" ? b : a) as Tensor;
  const ta = typeof a === "number" ? ref.graph.scalar(a, ref.dtype) : a;
  const tb = typeof b === "number" ? ref.graph.scalar(b, ref.dtype) : b;
  return [ta, tb];
}
