// Movement ops. Each VJP exactly undoes its op: reshape back, inverse permutation, pad what a
// slice cut, slice what a pad added, sum what an expand copied.

import { defineOp, type InferContext } from "./define-op.js";
import { broadcastShapes, normAxes, normAxis, staticSize } from "../graph/shape.js";
import type { Dim, Shape, Tensor } from "../graph/tensor.js";
import type { DType } from "../graph/dtype.js";
import { attr, type Emitter } from "../onnx/emitter.js";
import { MissingRuleError, ShapeError, fmtShape } from "../errors.js";
import { sumToShape } from "./reduce.js";
import { zerosLike } from "./cast.js";

/** The ONNX shape operand for `like`: a constant when static, else Shape(like). */
function shapeOperand(e: Emitter, like: Tensor, likeName: string): string {
  return staticSize(like.shape) !== undefined ? e.i64s(like.shape as number[]) : e.op("Shape", [likeName]);
}

// --- reshape -------------------------------------------------------------------------------

/**
 * A dim as a product of a static factor and base symbols: 12 is 12, "B" is B, and "B*3" (what a
 * -1 over a symbolic input infers) is B times 3, so a later reshape can split the 3 off again.
 */
function dimFactors(d: Dim): { factor: number; symbols: string[] } {
  if (typeof d === "number") return { factor: d, symbols: [] };
  let factor = 1;
  const symbols: string[] = [];
  for (const part of d.split("*")) {
    if (/^[0-9]+$/.test(part)) factor *= Number(part);
    else symbols.push(part);
  }
  return { factor, symbols };
}

function shapeFactors(dims: readonly Dim[]): { factor: number; symbols: string[] } {
  const parts = dims.map(dimFactors);
  return { factor: parts.reduce((a, p) => a * p.factor, 1), symbols: parts.flatMap((p) => p.symbols) };
}

/**
 * Target dims may use -1 once, and the input's own symbols (also split off or merged: "B*2" over
 * [2, -1] gives [2, "B"]); a -1 over a symbolic input becomes "B*16"-like.
 */
function inferReshape(x: Tensor, target: readonly Dim[], ctx: InferContext): Dim[] {
  const minus = target.filter((d) => d === -1).length;
  if (minus > 1) ctx.shapeError("at most one -1 in the target shape", fmtShape(target));
  const xs = shapeFactors(x.shape), ts = shapeFactors(target.filter((d) => d !== -1));
  const remaining = [...xs.symbols];
  for (const s of ts.symbols) {
    const i = remaining.indexOf(s);
    if (i < 0) ctx.shapeError(`symbols of the input ${fmtShape(x.shape)}`, `target ${fmtShape(target)}`);
    remaining.splice(i, 1);
  }
  if (minus === 0) {
    if (remaining.length || xs.factor !== ts.factor) ctx.shapeError(`a target with ${fmtShape(x.shape)}'s element count`, fmtShape(target));
    return [...target];
  }
  if (xs.factor % ts.factor !== 0) ctx.shapeError(`a target dividing ${fmtShape(x.shape)}`, fmtShape(target));
  const factor = xs.factor / ts.factor;
  const inferred: Dim = remaining.length ? [...remaining, ...(factor !== 1 ? [factor] : [])].join("*") : factor;
  return target.map((d) => (d === -1 ? inferred : d));
}

const reshapeOp = defineOp<{ shape: readonly Dim[] }>({
  name: "reshape",
  infer: (ins, a, ctx) => [{ dtype: ins[0]!.dtype, shape: inferReshape(ins[0]!, a.shape, ctx) }],
  onnx: (e, { inputs, outputs, node }) => {
    const x = node.inputs[0]!;
    const out = node.outputs[0]!.shape;
    // Known dims stay; a symbol at the same position copies (0); at most one other unknown is -1.
    const dims = out.map((d, i) => (typeof d === "number" ? d : x.shape[i] === d ? 0 : -1));
    if (dims.filter((d) => d === -1).length <= 1) e.op("Reshape", [inputs[0]!, e.i64s(dims)], {}, outputs[0]);
    else throw new ShapeError({ op: "reshape", expected: `a target shape ONNX Reshape can express from ${fmtShape(x.shape)}`, got: fmtShape(out) });
  },
  vjp: ({ g: [g], inputs: [x] }) => [reshapeLike(g!, x!)],
});
export const reshape = (x: Tensor, shape: readonly Dim[]): Tensor => reshapeOp([x], { shape })[0]!;

const reshapeLikeOp = defineOp<null>({
  name: "reshapeLike",
  infer: (ins, _a, ctx) => {
    const [x, like] = ins as [Tensor, Tensor];
    const a = staticSize(x.shape), b = staticSize(like.shape);
    if (a !== undefined && b !== undefined && a !== b) ctx.shapeError(`${fmtShape(like.shape)}'s element count`, fmtShape(x.shape));
    return [{ dtype: x.dtype, shape: like.shape }];
  },
  onnx: (e, { inputs, outputs, node }) => e.op("Reshape", [inputs[0]!, shapeOperand(e, node.inputs[1]!, inputs[1]!)], {}, outputs[0]),
  vjp: ({ g: [g], inputs: [x] }) => [reshapeLike(g!, x!), null],
});
/** Reshape x to the (possibly symbolic) shape of `like`. */
export const reshapeLike = (x: Tensor, like: Tensor): Tensor => reshapeLikeOp([x, like], null)[0]!;

// --- transpose -----------------------------------------------------------------------------

const transposeOp = defineOp<{ perm: readonly number[] }>({
  name: "transpose",
  infer: (ins, { perm }, ctx) => {
    const x = ins[0]!;
    if (perm.length !== x.rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) ctx.shapeError(`a permutation of ${x.rank} axes`, `[${perm.join(", ")}]`);
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) }];
  },
  onnx: (e, { inputs, outputs, attrs }) => e.op("Transpose", inputs, { perm: attr.ints(attrs.perm) }, outputs[0]),
  vjp: ({ g: [g], attrs: { perm } }) => {
    const inv: number[] = [];
    perm.forEach((p, i) => (inv[p] = i));
    return [transpose(g!, inv)];
  },
});
export const transpose = (x: Tensor, perm: readonly number[]): Tensor => transposeOp([x], { perm })[0]!;
/** Swaps the last two axes. */
export const transposeLast2 = (x: Tensor): Tensor => {
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank - 1], perm[x.rank - 2]] = [perm[x.rank - 2]!, perm[x.rank - 1]!];
  return transpose(x, perm);
};

// --- unsqueeze / squeeze -------------------------------------------------------------------

const unsqueezeOp = defineOp<{ axes: readonly number[] }>({
  name: "unsqueeze",
  infer: (ins, { axes }, ctx) => {
    const x = ins[0]!;
    const outRank = x.rank + axes.length;
    const norm = normAxes("unsqueeze", axes, outRank, ctx.scope);
    const shape: Dim[] = [];
    let j = 0;
    for (let i = 0; i < outRank; i++) shape.push(norm.includes(i) ? 1 : x.shape[j++]!);
    return [{ dtype: x.dtype, shape }];
  },
  onnx: (e, { inputs, outputs, attrs, node }) => e.op("Unsqueeze", [inputs[0]!, e.i64s(normAxes("unsqueeze", attrs.axes, node.outputs[0]!.rank))], {}, outputs[0]),
  vjp: ({ g: [g], inputs: [x], attrs }) => [squeeze(g!, normAxes("unsqueeze", attrs.axes, x!.rank + attrs.axes.length))],
});
export const unsqueeze = (x: Tensor, axes: readonly number[]): Tensor => unsqueezeOp([x], { axes })[0]!;

const squeezeOp = defineOp<{ axes: readonly number[] }>({
  name: "squeeze",
  infer: (ins, { axes }, ctx) => {
    const x = ins[0]!;
    const norm = normAxes("squeeze", axes, x.rank, ctx.scope);
    for (const a of norm) if (x.shape[a] !== 1) ctx.shapeError(`size 1 at axis ${a}`, fmtShape(x.shape));
    return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !norm.includes(i)) }];
  },
  onnx: (e, { inputs, outputs, attrs, node }) => e.op("Squeeze", [inputs[0]!, e.i64s(normAxes("squeeze", attrs.axes, node.inputs[0]!.rank))], {}, outputs[0]),
  vjp: ({ g: [g], inputs: [x], attrs }) => [unsqueeze(g!, normAxes("squeeze", attrs.axes, x!.rank))],
});
export const squeeze = (x: Tensor, axes: readonly number[]): Tensor => squeezeOp([x], { axes })[0]!;

// --- expand --------------------------------------------------------------------------------

const expandOp = defineOp<{ shape: readonly number[] }>({
  name: "expand",
  infer: (ins, a, ctx) => [{ dtype: ins[0]!.dtype, shape: broadcastShapes("expand", ins[0]!.shape, a.shape, ctx.scope) }],
  onnx: (e, { inputs, outputs, attrs }) => e.op("Expand", [inputs[0]!, e.i64s(attrs.shape)], {}, outputs[0]),
  vjp: ({ g: [g], inputs: [x] }) => [sumToShape(g!, x!.shape)],
});
/** Broadcast x to a static shape. */
export const expand = (x: Tensor, shape: readonly number[]): Tensor => expandOp([x], { shape })[0]!;

const expandLikeOp = defineOp<null>({
  name: "expandLike",
  infer: (ins, _a, ctx) => [{ dtype: ins[0]!.dtype, shape: broadcastShapes("expandLike", ins[0]!.shape, ins[1]!.shape, ctx.scope) }],
  onnx: (e, { inputs, outputs, node }) => e.op("Expand", [inputs[0]!, shapeOperand(e, node.inputs[1]!, inputs[1]!)], {}, outputs[0]),
  vjp: ({ g: [g], inputs: [x] }) => [sumToShape(g!, x!.shape), null],
});
/** Broadcast x to the (possibly symbolic) shape of `like`. */
export const expandLike = (x: Tensor, like: Tensor): Tensor => expandLikeOp([x, like], null)[0]!;

// --- slice / pad / concat ------------------------------------------------------------------

interface SliceAttrs {
  readonly axes: readonly number[];
  readonly starts: readonly number[];
  readonly ends: readonly number[];
}

/** Resolves negative and out-of-range bounds against static dims (sliced axes must be static). */
function resolveSlice(x: Tensor, a: SliceAttrs, ctx?: InferContext): { axis: number; start: number; end: number; size: number }[] {
  return a.axes.map((ax, i) => {
    const axis = normAxis("slice", ax, x.rank, ctx?.scope);
    const size = x.shape[axis];
    if (typeof size !== "number") {
      if (ctx) ctx.shapeError(`a static dimension on sliced axis ${axis}`, fmtShape(x.shape));
      throw new ShapeError({ op: "slice", expected: "a static size on the sliced axis", got: "a symbolic one" });
    }
    const clampIdx = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
    const start = clampIdx(a.starts[i]!), end = Math.max(clampIdx(a.ends[i]!), clampIdx(a.starts[i]!));
    return { axis, start, end, size };
  });
}

const sliceOp = defineOp<SliceAttrs>({
  name: "slice",
  infer: (ins, a, ctx) => {
    const x = ins[0]!;
    if (a.axes.length !== a.starts.length || a.axes.length !== a.ends.length) ctx.shapeError("axes, starts and ends of one length", `${a.axes.length}, ${a.starts.length}, ${a.ends.length}`);
    const shape = [...x.shape];
    for (const r of resolveSlice(x, a, ctx)) shape[r.axis] = r.end - r.start;
    return [{ dtype: x.dtype, shape }];
  },
  onnx: (e, { inputs, outputs, attrs, node }) => {
    const rs = resolveSlice(node.inputs[0]!, attrs);
    e.op("Slice", [inputs[0]!, e.i64s(rs.map((r) => r.start)), e.i64s(rs.map((r) => r.end)), e.i64s(rs.map((r) => r.axis))], {}, outputs[0]);
  },
  vjp: ({ g: [g], inputs: [x], attrs }) => {
    const before = new Array<number>(x!.rank).fill(0), after = new Array<number>(x!.rank).fill(0);
    for (const r of resolveSlice(x!, attrs)) {
      before[r.axis] = r.start;
      after[r.axis] = r.size - r.end;
    }
    return [pad(g!, [...before, ...after])];
  },
});
/** x[start:end] along each listed axis (step 1; negative indices count from the end). */
export const slice = (x: Tensor, axes: readonly number[], starts: readonly number[], ends: readonly number[]): Tensor =>
  sliceOp([x], { axes, starts, ends })[0]!;

type PadMode = "constant" | "reflect" | "edge";
interface PadAttrs {
  readonly pads: readonly number[];
  readonly mode: PadMode;
  readonly value: number;
}

const padOp = defineOp<PadAttrs>({
  name: "pad",
  infer: (ins, a, ctx) => {
    const x = ins[0]!;
    if (a.pads.length !== 2 * x.rank) ctx.shapeError(`${2 * x.rank} pads (begins then ends)`, `${a.pads.length}`);
    const shape = x.shape.map((d, i) => {
      const p = a.pads[i]! + a.pads[i + x.rank]!;
      if (p === 0) return d;
      if (typeof d !== "number") ctx.shapeError(`a static dimension on padded axis ${i}`, fmtShape(x.shape));
      if ((d as number) + p < 0) ctx.shapeError(`pads not larger than axis ${i}`, `${p} on ${d}`);
      return (d as number) + p;
    });
    return [{ dtype: x.dtype, shape }];
  },
  onnx: (e, { inputs, outputs, attrs, node }) => {
    const value = e.scalar(attrs.value, node.inputs[0]!.dtype as DType);
    e.op("Pad", [inputs[0]!, e.i64s(attrs.pads), value], { mode: attr.string(attrs.mode) }, outputs[0]);
  },
  vjp: ({ g: [g], inputs: [x], attrs }) => {
    if (attrs.mode !== "constant") return [reflectPadGradUnsupported(attrs.mode)];
    const r = x!.rank;
    const axes: number[] = [], starts: number[] = [], ends: number[] = [];
    // Slice away what positive pads added, then zero-pad back what negative pads cropped.
    for (let i = 0; i < r; i++) {
      if (attrs.pads[i]! > 0 || attrs.pads[i + r]! > 0) {
        axes.push(i);
        starts.push(Math.max(attrs.pads[i]!, 0));
        ends.push((g!.shape[i] as number) - Math.max(attrs.pads[i + r]!, 0));
      }
    }
    const sliced = axes.length ? slice(g!, axes, starts, ends) : g!;
    const cropped = attrs.pads.map((p) => Math.max(-p, 0));
    return [cropped.some((p) => p > 0) ? pad(sliced, cropped) : sliced];
  },
});
function reflectPadGradUnsupported(mode: string): never {
  throw new MissingRuleError({ op: "pad", expected: "constant padding (the only differentiable mode)", got: `mode "${mode}"` });
}
/** Pads [begin_0..begin_{r-1}, end_0..end_{r-1}] (ONNX order); negative pads crop. */
export const pad = (x: Tensor, pads: readonly number[], mode: PadMode = "constant", value = 0): Tensor => padOp([x], { pads, mode, value })[0]!;

const concatOp = defineOp<{ axis: number }>({
  name: "concat",
  infer: (ins, a, ctx) => {
    const first = ins[0]!;
    const axis = normAxis("concat", a.axis, first.rank, ctx.scope);
    let total: Dim = 0;
    for (const t of ins) {
      if (t.dtype !== first.dtype) ctx.dtypeError("operands of one dtype", ins.map((x) => x.dtype).join(", "));
      if (t.rank !== first.rank || t.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
        ctx.shapeError(`shapes equal except on axis ${axis}`, ins.map((x) => fmtShape(x.shape)).join(", "));
      }
      const d = t.shape[axis]!;
      if (typeof d !== "number" || typeof total !== "number") ctx.shapeError(`a static axis ${axis}`, fmtShape(t.shape));
      total = (total as number) + (d as number);
    }
    const shape = [...first.shape];
    shape[axis] = total;
    return [{ dtype: first.dtype, shape }];
  },
  onnx: (e, { inputs, outputs, attrs, node }) => e.op("Concat", inputs, { axis: attr.int(normAxis("concat", attrs.axis, node.inputs[0]!.rank)) }, outputs[0]),
  vjp: ({ g: [g], inputs, attrs }) => split(g!, attrs.axis, inputs.map((t) => t.shape[normAxis("concat", attrs.axis, t.rank)] as number)),
});

const splitOp = defineOp<{ axis: number; sizes: readonly number[] }>({
  name: "split",
  infer: (ins, a, ctx) => {
    const x = ins[0]!;
    const axis = normAxis("split", a.axis, x.rank, ctx.scope);
    const total = a.sizes.reduce((p, n) => p + n, 0);
    if (a.sizes.length === 0 || a.sizes.some((n) => !Number.isInteger(n) || n < 1) || x.shape[axis] !== total) {
      ctx.shapeError(`positive part sizes adding up to axis ${axis} of ${fmtShape(x.shape)}`, `[${a.sizes.join(", ")}]`);
    }
    return a.sizes.map((n) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === axis ? n : d)) }));
  },
  onnx: (e, { inputs, outputs, attrs, node }) =>
    e.node("Split", [inputs[0]!, e.i64s(attrs.sizes)], { axis: attr.int(normAxis("split", attrs.axis, node.inputs[0]!.rank)) }, { outputs }),
  // The parts' cotangents side by side again; a part no gradient flows into contributes zeros.
  vjp: ({ g, outputs, attrs }) => [concat(g.map((gi, i) => gi ?? zerosLike(outputs[i]!)), attrs.axis)],
});
/** x cut along `axis` into consecutive parts of the given sizes (one pass, where slices would each copy). */
export const split = (x: Tensor, axis: number, sizes: readonly number[]): Tensor[] => splitOp([x], { axis, sizes });
export const concat = (xs: readonly Tensor[], axis: number): Tensor => (xs.length === 1 ? xs[0]! : concatOp(xs, { axis })[0]!);

// --- shape arithmetic ----------------------------------------------------------------------

const shapeCountOp = defineOp<{ axes: readonly number[]; dtype: DType }>({
  name: "shapeCount",
  infer: (_ins, a) => [{ dtype: a.dtype, shape: [] }],
  onnx: (e, { inputs, outputs, attrs, node }) => {
    const x = node.inputs[0]!;
    const dims = attrs.axes.map((a) => x.shape[a]!);
    if (dims.every((d) => typeof d === "number")) {
      const n = (dims as number[]).reduce((p, q) => p * q, 1);
      e.op("Cast", [e.scalar(n, "int64")], { to: attr.int(attrs.dtype === "float64" ? 11 : 1) }, outputs[0]);
      return;
    }
    const picked = e.op("Gather", [e.op("Shape", [inputs[0]!]), e.i64s(attrs.axes)], { axis: attr.int(0) });
    const prod = e.op("ReduceProd", [picked], { keepdims: attr.int(0) });
    e.op("Cast", [prod], { to: attr.int(attrs.dtype === "float64" ? 11 : 1) }, outputs[0]);
  },
  vjp: () => [null],
});
/** Number of elements spanned by `axes` of x, as a float scalar (works for symbolic dims). */
export const shapeCount = (x: Tensor, axes: readonly number[], dtype: DType = "float32"): Tensor => {
  const norm = normAxes("shapeCount", axes, x.rank);
  const dims = norm.map((a) => x.shape[a]!);
  if (dims.every((d) => typeof d === "number")) return x.graph.scalar((dims as number[]).reduce((p, q) => p * q, 1), dtype);
  return shapeCountOp([x], { axes: norm, dtype })[0]!;
};
