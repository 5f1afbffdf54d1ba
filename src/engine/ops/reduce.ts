// Reductions. sumToShape (undoing broadcasting) is the adjoint of expandLike, and each
// reduction's VJP broadcasts its cotangent back with expandLike.

import { defineOp, sameDType, type InferContext } from "./define-op.js";
import { normAxes } from "../graph/shape.js";
import type { Dim, Shape, Tensor } from "../graph/tensor.js";
import { attr } from "../onnx/emitter.js";
import { expandLike, unsqueeze } from "./shape-ops.js";
import { div, mul } from "./binary.js";
import { equal } from "./compare.js";
import { cast } from "./cast.js";
import { shapeCount } from "./shape-ops.js";

interface ReduceAttrs {
  readonly axes: readonly number[];
  readonly keepdims: boolean;
}

function inferReduce(ins: readonly Tensor[], a: ReduceAttrs, ctx: InferContext) {
  const x = ins[0]!;
  const dtype = sameDType(ctx, ins, ["float32", "float64", "int64", "int32"]);
  const axes = normAxes(ctx.op, a.axes, x.rank, ctx.scope);
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) shape.push(d);
    else if (a.keepdims) shape.push(1);
  });
  return [{ dtype, shape }];
}

function reduceOp(name: string, onnxType: string, vjp: (g: Tensor, x: Tensor, y: Tensor, axes: number[]) => Tensor) {
  return defineOp<ReduceAttrs>({
    name,
    infer: inferReduce,
    onnx: (e, { inputs, outputs, attrs, node }) => {
      const axes = normAxes(name, attrs.axes, node.inputs[0]!.rank);
      // ONNX reads an empty axes list as "all axes"; here (as the shape rule says) it means none.
      if (axes.length === 0) e.op("Identity", [inputs[0]!], {}, outputs[0]);
      else e.op(onnxType, [inputs[0]!, e.i64s(axes)], { keepdims: attr.int(attrs.keepdims ? 1 : 0) }, outputs[0]);
    },
    vjp: ({ g: [g], inputs: [x], outputs: [y], attrs }) => {
      const axes = normAxes(name, attrs.axes, x!.rank);
      const keep = (t: Tensor) => (attrs.keepdims ? t : unsqueeze(t, axes));
      return [vjp(keep(g!), x!, keep(y!), axes)];
    },
  });
}

const reduceSumOp = reduceOp("reduceSum", "ReduceSum", (g, x) => expandLike(g, x));
const reduceMeanOp = reduceOp("reduceMean", "ReduceMean", (g, x, _y, axes) => expandLike(div(g, shapeCount(x, axes, g.dtype)), x));
// The cotangent is shared equally between tied maxima (what torch.amax does).
const reduceMaxOp = reduceOp("reduceMax", "ReduceMax", (g, x, y, axes) => {
  const hit = cast(equal(x, expandLike(y, x)), x.dtype);
  return mul(expandLike(div(g, reduceSum(hit, axes, true)), x), hit);
});

const allAxes = (x: Tensor) => x.shape.map((_, i) => i);
/** Sum over `axes` (all when omitted). */
export const reduceSum = (x: Tensor, axes: readonly number[] = allAxes(x), keepdims = false): Tensor => reduceSumOp([x], { axes, keepdims })[0]!;
export const reduceMean = (x: Tensor, axes: readonly number[] = allAxes(x), keepdims = false): Tensor => reduceMeanOp([x], { axes, keepdims })[0]!;
export const reduceMax = (x: Tensor, axes: readonly number[] = allAxes(x), keepdims = false): Tensor => reduceMaxOp([x], { axes, keepdims })[0]!;

/** Sums a broadcast result back to an operand's shape (the VJP half of broadcasting). */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  const lead = g.rank - shape.length;
  const keepAxes: number[] = [];
  shape.forEach((d, i) => {
    if (d === 1 && g.shape[i + lead] !== 1) keepAxes.push(i + lead);
  });
  let out = keepAxes.length ? reduceSum(g, keepAxes, true) : g;
  if (lead > 0) out = reduceSum(out, Array.from({ length: lead }, (_, i) => i), false);
  return out;
}
