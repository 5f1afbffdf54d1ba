// Reductions. sumToShape (undoing broadcasting) is the adjoint of expandLike, and each
// reduction's VJP broadcasts its cotangent back with expandLike.

import { defineOp, sameDType, type InferContext } from "./define-op.js";
import { normAxes } from "../graph/shape.js";
import type { Dim, Shape, Tensor } from "../graph/tensor.js";
import { attr } from "../onnx/emitter.js";
import { expandLike, reshape, squeeze, unsqueeze } from "./shape-ops.js";
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

/**
 * reduceSum over several axes, one axis at a time from the innermost outwards. A single float32
 * pass over a long axis set (ONNX Runtime accumulates a 256x256 plane, or a batch of them, in one
 * running sum) loses about log2(n) bits; summing rows first and then the row sums keeps each
 * partial sum short, which brings the error to PyTorch's level at no measurable cost
 * (GroupNorm at [1,128,256,256]: relative L2 error 1.7e-6 in one pass, 7.4e-8 axis by axis).
 */
export function reduceSumByAxis(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
  return byAxis(x, axes, keepdims, reduceSum);
}

/** reduceMean over several axes, one axis at a time (see reduceSumByAxis). */
export function reduceMeanByAxis(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
  return byAxis(x, axes, keepdims, reduceMean);
}

/** Axes longer than this are reduced as [n/k, k] blocks (k about sqrt(n)), inner block first. */
const LONG_AXIS = 128;

function byAxis(x: Tensor, axes: readonly number[], keepdims: boolean, reduce: typeof reduceSum): Tensor {
  const norm = [...normAxes("reduceByAxis", axes, x.rank)].sort((a, b) => b - a);
  // Reducing with keepdims keeps every later axis index valid; the 1s are squeezed at the end.
  let out = x;
  for (const a of norm) out = reduceOneAxis(out, a, reduce);
  return keepdims || norm.length === 0 ? out : squeeze(out, norm);
}

function reduceOneAxis(x: Tensor, a: number, reduce: typeof reduceSum): Tensor {
  const n = x.shape[a];
  const k = typeof n === "number" && n > LONG_AXIS ? blockSize(n) : 1;
  // Splitting needs static dims after the axis (a symbol may only stay where it is in Reshape).
  if (k === 1 || x.shape.slice(a + 1).some((d) => typeof d !== "number")) return reduce(x, [a], true);
  const blocks = reshape(x, [...x.shape.slice(0, a), (n as number) / k, k, ...x.shape.slice(a + 1)]);
  return squeeze(reduce(reduce(blocks, [a + 1], true), [a], true), [a + 1]);
}

/** The largest divisor of n not above sqrt(n), or 1 when that is too small to help. */
function blockSize(n: number): number {
  for (let k = Math.floor(Math.sqrt(n)); k >= 16; k--) if (n % k === 0) return k;
  return 1;
}

/** Sums a broadcast result back to an operand's shape (the VJP half of broadcasting). */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  const lead = g.rank - shape.length;
  const keepAxes: number[] = [];
  shape.forEach((d, i) => {
    if (d === 1 && g.shape[i + lead] !== 1) keepAxes.push(i + lead);
  });
  let out = keepAxes.length ? reduceSumByAxis(g, keepAxes, true) : g;
  if (lead > 0) out = reduceSumByAxis(out, Array.from({ length: lead }, (_, i) => i), false);
  return out;
}

