// Shape bookkeeping shared by the ops' shape rules: broadcasting, axes, symbolic dimensions.

import { ShapeError, fmtShape } from "../errors.js";
import type { Dim, Shape } from "./tensor.js";

/** Numpy-style broadcast of two shapes; symbols broadcast only against themselves or 1. */
export function broadcastShapes(op: string, a: Shape, b: Shape, scope?: string): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)]!;
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)]!;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else {
      throw new ShapeError({ op, scope, expected: "shapes that broadcast together", got: `${fmtShape(a)} and ${fmtShape(b)} (axis ${i}: ${da} vs ${db})` });
    }
  }
  return out;
}

/** Resolves a possibly negative axis against a rank. */
export function normAxis(op: string, axis: number, rank: number, scope?: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ShapeError({ op, scope, expected: `an axis in [-${rank}, ${rank})`, got: `${axis}` });
  return a;
}

export function normAxes(op: string, axes: readonly number[], rank: number, scope?: string): number[] {
  const out = axes.map((a) => normAxis(op, a, rank, scope));
  if (new Set(out).size !== out.length) throw new ShapeError({ op, scope, expected: "distinct axes", got: `[${axes.join(", ")}]` });
  return out.sort((x, y) => x - y);
}

/** Product of dims when all are static, else undefined. */
export function staticSize(shape: Shape): number | undefined {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== "number") return undefined;
    n *= d;
  }
  return n;
}
