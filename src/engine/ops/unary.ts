// Elementwise unary math. Each rule is one line: the ONNX op, and the cotangent in terms of the
// input x and (where cheaper) the output y.

import { defineOp, sameDType } from "./define-op.js";
import type { Tensor } from "../graph/tensor.js";
import type { DType } from "../graph/dtype.js";
import { attr, type Attr } from "../onnx/emitter.js";
import { add, div, mul, sub } from "./binary.js";
import { greater, where } from "./compare.js";

type UnaryVjp = (g: Tensor, x: Tensor, y: Tensor) => Tensor | null;

const FLOATS: readonly DType[] = ["float32", "float64"];
const SIGNED: readonly DType[] = ["float32", "float64", "int64", "int32"];

function unary(name: string, onnxType: string, vjp: UnaryVjp | "none", allowed: readonly DType[] = FLOATS, attrs: Record<string, Attr> = {}) {
  const op = defineOp<null>({
    name,
    infer: (ins, _a, ctx) => [{ dtype: sameDType(ctx, ins, allowed), shape: ins[0]!.shape }],
    onnx: (e, { inputs, outputs }) => e.op(onnxType, inputs, attrs, outputs[0]),
    vjp: vjp === "none" ? "none" : ({ g: [g], inputs: [x], outputs: [y] }) => [vjp(g!, x!, y!)],
  });
  return (x: Tensor): Tensor => op([x], null)[0]!;
}

export const neg = unary("neg", "Neg", (g) => neg(g), SIGNED);
export const exp = unary("exp", "Exp", (g, _x, y) => mul(g, y));
export const log = unary("log", "Log", (g, x) => div(g, x));
export const sqrt = unary("sqrt", "Sqrt", (g, _x, y) => div(g, mul(y, 2)));
export const reciprocal = unary("reciprocal", "Reciprocal", (g, _x, y) => neg(mul(g, mul(y, y))));
export const sigmoid = unary("sigmoid", "Sigmoid", (g, _x, y) => mul(g, mul(y, sub(1, y))));
export const tanh = unary("tanh", "Tanh", (g, _x, y) => mul(g, sub(1, mul(y, y))));
export const erf = unary("erf", "Erf", (g, x) => mul(g, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI))));
export const cos = unary("cos", "Cos", (g, x) => neg(mul(g, sin(x))));
export const sin = unary("sin", "Sin", (g, x) => mul(g, cos(x)));
export const abs = unary("abs", "Abs", (g, x) => mul(g, sign(x)), SIGNED);
export const relu = unary("relu", "Relu", (g, x) => where(greater(x, 0), g, 0));
/** Piecewise constant: zero gradient, as in PyTorch. */
export const sign = unary("sign", "Sign", (g) => mul(g, 0), SIGNED);
export const floor = unary("floor", "Floor", (g) => mul(g, 0));
/** Integer bit test helpers live on int64 and have no gradient. */
export const bitwiseNot = unary("bitwiseNot", "BitwiseNot", "none", ["int64", "int32"]);

const leakyReluOp = defineOp<{ alpha: number }>({
  name: "leakyRelu",
  infer: (ins, _a, ctx) => [{ dtype: sameDType(ctx, ins, FLOATS), shape: ins[0]!.shape }],
  onnx: (e, { inputs, outputs, attrs }) => e.op("LeakyRelu", inputs, { alpha: attr.float(attrs.alpha) }, outputs[0]),
  vjp: ({ g: [g], inputs: [x], attrs }) => [where(greater(x!, 0), g!, mul(g!, attrs.alpha))],
});
export const leakyRelu = (x: Tensor, alpha: number): Tensor => leakyReluOp([x], { alpha })[0]!;

/**
 * x * sigmoid(x). One op rather than a Mul of a Sigmoid so that backward keeps only x and y (which
 * the next layer keeps anyway) instead of the sigmoid as well, and runs in five passes:
 * d/dx = s * (1 + x * (1 - s)) = s + y * (1 - s), with s recomputed.
 */
const siluOp = defineOp<null>({
  name: "silu",
  infer: (ins, _a, ctx) => [{ dtype: sameDType(ctx, ins, FLOATS), shape: ins[0]!.shape }],
  onnx: (e, { inputs, outputs }) => e.op("Mul", [inputs[0]!, e.op("Sigmoid", inputs)], {}, outputs[0]),
  vjp: ({ g: [g], inputs: [x], outputs: [y] }) => {
    const s = sigmoid(x!);
    return [mul(g!, add(s, mul(y!, sub(1, s))))];
  },
});
export const silu = (x: Tensor): Tensor => siluOp([x], null)[0]!;
/** log(1 + e^x). */
export const softplus = (x: Tensor): Tensor => log(add(exp(x), 1));
