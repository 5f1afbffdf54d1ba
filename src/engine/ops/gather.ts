// Indexing: gather (embedding lookups, adaptive pooling windows), its adjoint scatterAdd, and
// gatherElements (picking one entry per row, e.g. the probability of a sampled token).

import { defineOp } from "./define-op.js";
import { normAxis } from "../graph/shape.js";
import type { Dim, Tensor } from "../graph/tensor.js";
import { attr } from "../onnx/emitter.js";
import { fmtShape } from "../errors.js";
import { zerosLike } from "./cast.js";
import { HostTensor } from "../host-tensor.js";

interface AxisAttrs { readonly axis: number }

const checkIndices = (t: Tensor, fail: (e: string, g: string) => never) => {
  if (t.dtype !== "int64" && t.dtype !== "int32") fail("int64 or int32 indices", t.dtype);
};

const gatherOp = defineOp<AxisAttrs>({
  name: "gather",
  infer: (ins, a, ctx) => {
    const [data, idx] = ins as [Tensor, Tensor];
    checkIndices(idx, ctx.dtypeError);
    const axis = normAxis("gather", a.axis, data.rank, ctx.scope);
    return [{ dtype: data.dtype, shape: [...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)] }];
  },
  onnx: (e, { inputs, outputs, attrs, node }) => e.op("Gather", inputs, { axis: attr.int(normAxis("gather", attrs.axis, node.inputs[0]!.rank)) }, outputs[0]),
  vjp: ({ g: [g], inputs: [data, idx], attrs }) => [scatterAdd(g!, idx!, data!, attrs.axis), null],
});
/** data.take(indices, axis): output shape data[:axis] + indices + data[axis+1:]. */
export const gather = (data: Tensor, indices: Tensor, axis = 0): Tensor => gatherOp([data, indices], { axis })[0]!;

// Implemented as ScatterND with add-reduction after moving the gathered axis to the front.
const scatterAddOp = defineOp<AxisAttrs>({
  name: "scatterAdd",
  infer: (ins, a, ctx) => {
    const [updates, idx, like] = ins as [Tensor, Tensor, Tensor];
    checkIndices(idx, ctx.dtypeError);
    const axis = normAxis("scatterAdd", a.axis, like.rank, ctx.scope);
    const expected: Dim[] = [...like.shape.slice(0, axis), ...idx.shape, ...like.shape.slice(axis + 1)];
    if (expected.length !== updates.rank || expected.some((d, i) => d !== updates.shape[i])) ctx.shapeError(`updates ${fmtShape(expected)}`, fmtShape(updates.shape));
    // `like` gives only the shape (as in expandLike / reshapeLike); values and dtype are the updates'.
    return [{ dtype: updates.dtype, shape: like.shape }];
  },
  onnx: (e, { inputs, outputs, attrs, node }) => {
    const [updates, idx, like] = node.inputs as [Tensor, Tensor, Tensor];
    const axis = normAxis("scatterAdd", attrs.axis, like.rank);
    const ir = idx.rank;
    // updates [pre(axis), I(ir), post] -> [I, pre, post]; data [pre, V, post] -> [V, pre, post].
    const uPerm = [...Array.from({ length: ir }, (_, i) => axis + i), ...Array.from({ length: axis }, (_, i) => i), ...Array.from({ length: updates.rank - axis - ir }, (_, i) => axis + ir + i)];
    const dPerm = [axis, ...Array.from({ length: axis }, (_, i) => i), ...Array.from({ length: like.rank - axis - 1 }, (_, i) => axis + 1 + i)];
    const inv: number[] = [];
    dPerm.forEach((p, i) => (inv[p] = i));
    const u = axis === 0 ? inputs[0]! : e.op("Transpose", [inputs[0]!], { perm: attr.ints(uPerm) });
    const zeros = e.op("ConstantOfShape", [e.op("Shape", [e.op("Transpose", [inputs[2]!], { perm: attr.ints(dPerm) })])], {
      value: attr.tensor(zeroScalar(updates.dtype)),
    });
    const i64 = idx.dtype === "int64" ? inputs[1]! : e.op("Cast", [inputs[1]!], { to: attr.int(7) });
    const ndIdx = e.op("Unsqueeze", [i64, e.i64s([ir])]);
    const scattered = e.op("ScatterND", [zeros, ndIdx, u], { reduction: attr.string("add") });
    e.op("Transpose", [scattered], { perm: attr.ints(inv) }, outputs[0]);
  },
  vjp: ({ g: [g], inputs: [, idx], attrs }) => [gather(g!, idx!, attrs.axis), null, null],
});
const zeroScalar = (dtype: Tensor["dtype"]) => HostTensor.scalar(0, dtype).reshape([1]);
/** The adjoint of gather: adds `updates` into zeros shaped like `like` at `indices` along `axis`. */
export const scatterAdd = (updates: Tensor, indices: Tensor, like: Tensor, axis = 0): Tensor =>
  scatterAddOp([updates, indices, like], { axis })[0]!;

const gatherElementsOp = defineOp<AxisAttrs>({
  name: "gatherElements",
  infer: (ins, a, ctx) => {
    const [data, idx] = ins as [Tensor, Tensor];
    checkIndices(idx, ctx.dtypeError);
    normAxis("gatherElements", a.axis, data.rank, ctx.scope);
    if (idx.rank !== data.rank) ctx.shapeError(`indices of rank ${data.rank}`, fmtShape(idx.shape));
    return [{ dtype: data.dtype, shape: idx.shape }];
  },
  onnx: (e, { inputs, outputs, attrs, node }) => e.op("GatherElements", inputs, { axis: attr.int(normAxis("gatherElements", attrs.axis, node.inputs[0]!.rank)) }, outputs[0]),
  vjp: ({ g: [g], inputs: [data, idx], attrs }) => [scatterElementsAdd(zerosLike(data!), idx!, g!, attrs.axis), null],
});
/** out[i][j] = data[i][idx[i][j]] along `axis` (same rank). */
export const gatherElements = (data: Tensor, indices: Tensor, axis: number): Tensor => gatherElementsOp([data, indices], { axis })[0]!;

const scatterElementsAddOp = defineOp<AxisAttrs>({
  name: "scatterElementsAdd",
  infer: (ins) => [{ dtype: ins[0]!.dtype, shape: ins[0]!.shape }],
  onnx: (e, { inputs, outputs, attrs, node }) =>
    e.op("ScatterElements", inputs, { axis: attr.int(normAxis("scatterElementsAdd", attrs.axis, node.inputs[0]!.rank)), reduction: attr.string("add") }, outputs[0]),
  vjp: ({ g: [g], inputs: [, idx], attrs }) => [g!, null, gatherElements(g!, idx!, attrs.axis)],
});
/** data with `updates` added at `indices` along `axis` (the adjoint of gatherElements). */
export const scatterElementsAdd = (data: Tensor, indices: Tensor, updates: Tensor, axis: number): Tensor =>
  scatterElementsAddOp([data, indices, updates], { axis })[0]!;
