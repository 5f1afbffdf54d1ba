// Dtype conversion, gradient stopping, and tensors filled with a constant.

import { defineOp } from "./define-op.js";
import type { Shape, Tensor } from "../graph/tensor.js";
import { isFloat, onnxDTypeCode, type DType } from "../graph/dtype.js";
import { attr } from "../onnx/emitter.js";
import { HostTensor } from "../host-tensor.js";
import { staticSize } from "../graph/shape.js";

const castOp = defineOp<{ to: DType }>({
  name: "cast",
  infer: (ins, { to }) => [{ dtype: to, shape: ins[0]!.shape }],
  onnx: (e, { inputs, outputs, attrs }) => e.op("Cast", inputs, { to: attr.int(onnxDTypeCode[attrs.to]) }, outputs[0]),
  // Float-to-float casts pass the cotangent back; anything through an integer type is cut.
  vjp: ({ g: [g], inputs: [x], attrs }) => [isFloat(x!.dtype) && isFloat(attrs.to) ? cast(g!, x!.dtype) : null],
});
export const cast = (x: Tensor, to: DType): Tensor => (x.dtype === to ? x : castOp([x], { to })[0]!);

const stopGradientOp = defineOp<null>({
  name: "stopGradient",
  infer: (ins) => [{ dtype: ins[0]!.dtype, shape: ins[0]!.shape }],
  onnx: (e, { inputs, outputs }) => e.op("Identity", inputs, {}, outputs[0]),
  vjp: () => [null],
});
/** Identity whose gradient is zero: PyTorch's `.detach()`. */
export const stopGradient = (x: Tensor): Tensor => stopGradientOp([x], null)[0]!;

const fillLikeOp = defineOp<{ value: number; dtype: DType; shape: Shape }>({
  name: "fillLike",
  infer: (_ins, a) => [{ dtype: a.dtype, shape: a.shape }],
  onnx: (e, { inputs, outputs, attrs, node }) => {
    const like = node.inputs[0]!;
    const shape = staticSize(like.shape) !== undefined ? e.i64s(like.shape as number[]) : e.op("Shape", [inputs[0]!]);
    e.op("ConstantOfShape", [shape], { value: attr.tensor(HostTensor.scalar(attrs.value, attrs.dtype).reshape([1])) }, outputs[0]);
  },
  vjp: () => [null],
});
/** A tensor with `like`'s shape (symbolic dims included) filled with `value`. */
export const fillLike = (like: Tensor, value: number, dtype: DType = like.dtype): Tensor =>
  fillLikeOp([like], { value, dtype, shape: like.shape })[0]!;
export const zerosLike = (like: Tensor, dtype?: DType): Tensor => fillLike(like, 0, dtype);
export const onesLike = (like: Tensor, dtype?: DType): Tensor => fillLike(like, 1, dtype);
