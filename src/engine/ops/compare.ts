// Comparisons (bool outputs, no gradient) and `where`, whose VJP routes the cotangent by the mask.

import { defineOp, sameDType } from "./define-op.js";
import { broadcastShapes } from "../graph/shape.js";
import type { Tensor } from "../graph/tensor.js";
import type { DType } from "../graph/dtype.js";
import { lift, type Operand } from "./operand.js";
import { sumToShape } from "./reduce.js";

const ORDERED: readonly DType[] = ["float32", "float64", "int64", "int32", "uint8"];

function comparison(name: string, onnxType: string, allowed: readonly DType[] = ORDERED) {
  const op = defineOp<null>({
    name,
    infer: (ins, _a, ctx) => {
      sameDType(ctx, ins, allowed);
      return [{ dtype: "bool", shape: broadcastShapes(name, ins[0]!.shape, ins[1]!.shape, ctx.scope) }];
    },
    onnx: (e, { inputs, outputs }) => e.op(onnxType, inputs, {}, outputs[0]),
    vjp: "none",
  });
  return (a: Operand, b: Operand): Tensor => op(lift(a, b), null)[0]!;
}

export const greater = comparison("greater", "Greater");
export const less = comparison("less", "Less");
export const greaterOrEqual = comparison("greaterOrEqual", "GreaterOrEqual");
export const lessOrEqual = comparison("lessOrEqual", "LessOrEqual");
export const equal = comparison("equal", "Equal", [...ORDERED, "bool"]);
export const and = comparison("and", "And", ["bool"]);
export const or = comparison("or", "Or", ["bool"]);

const notOp = defineOp<null>({
  name: "not",
  infer: (ins, _a, ctx) => [{ dtype: sameDType(ctx, ins, ["bool"]), shape: ins[0]!.shape }],
  onnx: (e, { inputs, outputs }) => e.op("Not", inputs, {}, outputs[0]),
  vjp: "none",
});
export const not = (x: Tensor): Tensor => notOp([x], null)[0]!;

const whereOp = defineOp<null>({
  name: "where",
  infer: (ins, _a, ctx) => {
    const [c, a, b] = ins as [Tensor, Tensor, Tensor];
    if (c.dtype !== "bool") ctx.dtypeError("a bool condition", c.dtype);
    const dtype = sameDType(ctx, [a, b], [...ORDERED, "bool"]);
    const shape = broadcastShapes("where", broadcastShapes("where", c.shape, a.shape, ctx.scope), b.shape, ctx.scope);
    return [{ dtype, shape }];
  },
  onnx: (e, { inputs, outputs }) => e.op("Where", inputs, {}, outputs[0]),
  vjp: ({ g: [g], inputs: [c, a, b] }) => [null, sumToShape(where(c!, g!, 0), a!.shape), sumToShape(where(c!, 0, g!), b!.shape)],
});

/** Elementwise select: cond ? a : b (numbers are lifted to the tensor operand's dtype). */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const [ta, tb] = lift(a, b);
  return whereOp([cond, ta, tb], null)[0]!;
}
