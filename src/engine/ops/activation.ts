// Fused activations and softmax: exact GELU (ONNX Gelu-20), Softmax and LogSoftmax (last axis
// or any axis), with their closed-form VJPs.

import { defineOp, sameDType } from "./define-op.js";
import type { Tensor } from "../graph/tensor.js";
import { attr } from "../onnx/emitter.js";
import { normAxis } from "../graph/shape.js";
import { add, mul, sub } from "./binary.js";
import { erf, exp } from "./unary.js";
import { reduceSum } from "./reduce.js";

const FLOATS = ["float32", "float64"] as const;

const geluOp = defineOp<null>({
  name: "gelu",
  infer: (ins, _a, ctx) => [{ dtype: sameDType(ctx, ins, FLOATS), shape: ins[0]!.shape }],
  onnx: (e, { inputs, outputs }) => e.op("Gelu", inputs, { approximate: attr.string("none") }, outputs[0]),
  // d/dx x*Phi(x) = Phi(x) + x*phi(x)
  vjp: ({ g: [g], inputs: [x] }) => {
    const cdf = mul(add(erf(mul(x!, Math.SQRT1_2)), 1), 0.5);
    const pdf = mul(exp(mul(mul(x!, x!), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    return [mul(g!, add(cdf, mul(x!, pdf)))];
  },
});
/** Exact (erf) GELU, as PyTorch's default nn.GELU. */
export const gelu = (x: Tensor): Tensor => geluOp([x], null)[0]!;

const softmaxOp = defineOp<{ axis: number }>({
  name: "softmax",
  infer: (ins, a, ctx) => {
    normAxis("softmax", a.axis, ins[0]!.rank, ctx.scope);
    return [{ dtype: sameDType(ctx, ins, FLOATS), shape: ins[0]!.shape }];
  },
  onnx: (e, { inputs, outputs, attrs }) => e.op("Softmax", inputs, { axis: attr.int(attrs.axis) }, outputs[0]),
  vjp: ({ g: [g], outputs: [y], attrs }) => [mul(y!, sub(g!, reduceSum(mul(g!, y!), [attrs.axis], true)))],
});
export const softmax = (x: Tensor, axis = -1): Tensor => softmaxOp([x], { axis })[0]!;

const logSoftmaxOp = defineOp<{ axis: number }>({
  name: "logSoftmax",
  infer: (ins, a, ctx) => {
    normAxis("logSoftmax", a.axis, ins[0]!.rank, ctx.scope);
    return [{ dtype: sameDType(ctx, ins, FLOATS), shape: ins[0]!.shape }];
  },
  onnx: (e, { inputs, outputs, attrs }) => e.op("LogSoftmax", inputs, { axis: attr.int(attrs.axis) }, outputs[0]),
  vjp: ({ g: [g], outputs: [y], attrs }) => [sub(g!, mul(exp(y!), reduceSum(g!, [attrs.axis], true)))],
});
export const logSoftmax = (x: Tensor, axis = -1): Tensor => logSoftmaxOp([x], { axis })[0]!;
