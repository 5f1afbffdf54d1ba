// Elementwise binary arithmetic with numpy broadcasting. Each VJP reduces its cotangent back to
// the operand's shape with sumToShape, the one place that undoes broadcasting.

import { defineOp, sameDType, type InferContext, type OutSpec } from "./define-op.js";
import { broadcastShapes } from "../graph/shape.js";
import type { Tensor } from "../graph/tensor.js";
import type { DType } from "../graph/dtype.js";
import { lift, type Operand } from "./operand.js";
import { sumToShape } from "./reduce.js";
import { neg, log } from "./unary.js";
import { greaterOrEqual, less, where } from "./compare.js";

const NUMERIC: readonly DType[] = ["float32", "float64", "int64", "int32"];

function inferBinary(ins: readonly Tensor[], ctx: InferContext, allowed = NUMERIC): OutSpec[] {
  const dtype = sameDType(ctx, ins, allowed);
  return [{ dtype, shape: broadcastShapes(ctx.op, ins[0]!.shape, ins[1]!.shape, ctx.scope) }];
}

const addOp = defineOp<null>({
  name: "add",
  infer: (ins, _a, ctx) => inferBinary(ins, ctx),
  onnx: (e, { inputs, outputs }) => e.op("Add", inputs, {}, outputs[0]),
  vjp: ({ g: [g], inputs: [a, b] }) => [sumToShape(g!, a!.shape), sumToShape(g!, b!.shape)],
});

const subOp = defineOp<null>({
  name: "sub",
  infer: (ins, _a, ctx) => inferBinary(ins, ctx),
  onnx: (e, { inputs, outputs }) => e.op("Sub", inputs, {}, outputs[0]),
  vjp: ({ g: [g], inputs: [a, b] }) => [sumToShape(g!, a!.shape), sumToShape(neg(g!), b!.shape)],
});

const mulOp = defineOp<null>({
  name: "mul",
  infer: (ins, _a, ctx) => inferBinary(ins, ctx),
  onnx: (e, { inputs, outputs }) => e.op("Mul", inputs, {}, outputs[0]),
  vjp: ({ g: [g], inputs: [a, b] }) => [sumToShape(mul(g!, b!), a!.shape), sumToShape(mul(g!, a!), b!.shape)],
});

const divOp = defineOp<null>({
  name: "div",
  infer: (ins, _a, ctx) => inferBinary(ins, ctx),
  onnx: (e, { inputs, outputs }) => e.op("Div", inputs, {}, outputs[0]),
  vjp: ({ g: [g], inputs: [a, b], outputs: [y] }) => {
    const ga = div(g!, b!);
    return [sumToShape(ga, a!.shape), sumToShape(neg(mul(ga, y!)), b!.shape)];
  },
});

const powOp = defineOp<null>({
  name: "pow",
  infer: (ins, _a, ctx) => inferBinary(ins, ctx, ["float32", "float64"]),
  onnx: (e, { inputs, outputs }) => e.op("Pow", inputs, {}, outputs[0]),
  vjp: ({ g: [g], inputs: [a, b], outputs: [y] }) => [
    sumToShape(mul(g!, mul(b!, pow(a!, sub(b!, 1)))), a!.shape),
    sumToShape(mul(g!, mul(y!, log(a!))), b!.shape),
  ],
});

// Ties send the whole cotangent to the first operand (PyTorch splits it; ties are measure-zero).
const maximumOp = defineOp<null>({
  name: "maximum",
  infer: (ins, _a, ctx) => inferBinary(ins, ctx),
  onnx: (e, { inputs, outputs }) => e.op("Max", inputs, {}, outputs[0]),
  vjp: ({ g: [g], inputs: [a, b] }) => {
    const pickA = greaterOrEqual(a!, b!);
    return [sumToShape(where(pickA, g!, 0), a!.shape), sumToShape(where(pickA, 0, g!), b!.shape)];
  },
});

const minimumOp = defineOp<null>({
  name: "minimum",
  infer: (ins, _a, ctx) => inferBinary(ins, ctx),
  onnx: (e, { inputs, outputs }) => e.op("Min", inputs, {}, outputs[0]),
  vjp: ({ g: [g], inputs: [a, b] }) => {
    const pickB = less(b!, a!);
    return [sumToShape(where(pickB, 0, g!), a!.shape), sumToShape(where(pickB, g!, 0), b!.shape)];
  },
});

const modOp = defineOp<null>({
  name: "mod",
  infer: (ins, _a, ctx) => inferBinary(ins, ctx, ["int64", "int32"]),
  onnx: (e, { inputs, outputs }) => e.op("Mod", inputs, {}, outputs[0]),
  vjp: "none",
});

export const add = (a: Operand, b: Operand): Tensor => addOp(lift(a, b), null)[0]!;
export const sub = (a: Operand, b: Operand): Tensor => subOp(lift(a, b), null)[0]!;
export const mul = (a: Operand, b: Operand): Tensor => mulOp(lift(a, b), null)[0]!;
export const div = (a: Operand, b: Operand): Tensor => divOp(lift(a, b), null)[0]!;
export const pow = (a: Operand, b: Operand): Tensor => powOp(lift(a, b), null)[0]!;
export const maximum = (a: Operand, b: Operand): Tensor => maximumOp(lift(a, b), null)[0]!;
export const minimum = (a: Operand, b: Operand): Tensor => minimumOp(lift(a, b), null)[0]!;
/** Integer remainder (ids arithmetic). */
export const mod = (a: Operand, b: Operand): Tensor => modOp(lift(a, b), null)[0]!;
export const square = (x: Tensor): Tensor => mul(x, x);
/** Clamp as min(max(x, lo), hi). */
export const clamp = (x: Tensor, lo: number, hi: number): Tensor => minimum(maximum(x, lo), hi);
