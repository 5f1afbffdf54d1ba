// Ops the sampler needs: cumulative sums (inverse-CDF categorical draws), top-k / sorting
// (confidence thresholds) and argmax. Only cumSum is differentiable.

import { defineOp, sameDType } from "./define-op.js";
import { normAxis } from "../graph/shape.js";
import type { Tensor } from "../graph/tensor.js";
import { attr } from "../onnx/emitter.js";
import { fmtShape } from "../errors.js";

const cumSumOp = defineOp<{ axis: number; reverse: boolean }>({
  name: "cumSum",
  infer: (ins, a, ctx) => {
    normAxis("cumSum", a.axis, ins[0]!.rank, ctx.scope);
    return [{ dtype: sameDType(ctx, ins, ["float32", "float64", "int64", "int32"]), shape: ins[0]!.shape }];
  },
  onnx: (e, { inputs, outputs, attrs, node }) =>
    e.op("CumSum", [inputs[0]!, e.i64s([normAxis("cumSum", attrs.axis, node.inputs[0]!.rank)])], { reverse: attr.int(attrs.reverse ? 1 : 0) }, outputs[0]),
  vjp: ({ g: [g], attrs }) => [cumSum(g!, attrs.axis, !attrs.reverse)],
});
/** Inclusive cumulative sum along `axis` (from the end when `reverse`). */
export const cumSum = (x: Tensor, axis: number, reverse = false): Tensor => cumSumOp([x], { axis, reverse })[0]!;

const topKOp = defineOp<{ axis: number; largest: boolean; k?: number }>({
  name: "topK",
  infer: (ins, a, ctx) => {
    const [x, k] = ins as [Tensor, Tensor | undefined];
    const axis = normAxis("topK", a.axis, x.rank, ctx.scope);
    if (k && (k.dtype !== "int64" || k.rank !== 1 || k.shape[0] !== 1)) ctx.shapeError("k as int64[1]", `${k}`);
    const n = x.shape[axis];
    if (a.k !== undefined && typeof n === "number" && a.k > n) ctx.shapeError(`k <= ${n}`, `${a.k}`);
    const shape = [...x.shape];
    shape[axis] = a.k ?? `topk${axis}`;
    return [{ dtype: x.dtype, shape }, { dtype: "int64", shape }];
  },
  onnx: (e, { inputs, outputs, attrs, node }) => {
    const k = attrs.k !== undefined ? e.i64s([attrs.k]) : inputs[1]!;
    e.node("TopK", [inputs[0]!, k], { axis: attr.int(normAxis("topK", attrs.axis, node.inputs[0]!.rank)), largest: attr.int(attrs.largest ? 1 : 0), sorted: attr.int(1) }, { outputs });
  },
  vjp: "none",
});
/** The k largest (or smallest) values along `axis`, sorted, with their indices; k static or fed as int64[1]. */
export function topK(x: Tensor, k: number | Tensor, axis = -1, largest = true): [Tensor, Tensor] {
  const [v, i] = typeof k === "number" ? topKOp([x], { axis, largest, k }) : topKOp([x, k], { axis, largest });
  return [v!, i!];
}

const argMaxOp = defineOp<{ axis: number; keepdims: boolean }>({
  name: "argMax",
  infer: (ins, a, ctx) => {
    const x = ins[0]!;
    const axis = normAxis("argMax", a.axis, x.rank, ctx.scope);
    if (x.shape[axis] === 0) ctx.shapeError("a non-empty axis", fmtShape(x.shape));
    const shape = a.keepdims ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis);
    return [{ dtype: "int64", shape }];
  },
  onnx: (e, { inputs, outputs, attrs, node }) =>
    e.op("ArgMax", inputs, { axis: attr.int(normAxis("argMax", attrs.axis, node.inputs[0]!.rank)), keepdims: attr.int(attrs.keepdims ? 1 : 0) }, outputs[0]),
  vjp: "none",
});
export const argMax = (x: Tensor, axis = -1, keepdims = false): Tensor => argMaxOp([x], { axis, keepdims })[0]!;
