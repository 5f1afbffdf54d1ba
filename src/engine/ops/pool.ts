// Max pooling (ONNX MaxPool with its Indices output). The VJP scatters the cotangent back to the
// argmax positions, which ONNX reports as flat indices over the whole input tensor.

import { defineOp, sameDType } from "./define-op.js";
import type { Tensor } from "../graph/tensor.js";
import { attr } from "../onnx/emitter.js";
import { fmtShape } from "../errors.js";
import { reshape, reshapeLike } from "./shape-ops.js";
import { scatterElementsAdd } from "./gather.js";
import { zerosLike } from "./cast.js";

export interface PoolAttrs {
  readonly kernel: readonly [number, number];
  readonly strides: readonly [number, number];
  /** [top, left, bottom, right] */
  readonly pads: readonly [number, number, number, number];
}

const maxPoolOp = defineOp<PoolAttrs>({
  name: "maxPool",
  infer: (ins, a, ctx) => {
    const x = ins[0]!;
    const [h, w] = [x.shape[2], x.shape[3]];
    if (x.rank !== 4 || typeof h !== "number" || typeof w !== "number") ctx.shapeError("x [B, C, H, W] with static H, W", fmtShape(x.shape));
    const out = (n: number, k: number, s: number, lo: number, hi: number) => Math.floor((n + lo + hi - k) / s) + 1;
    const shape = [x.shape[0]!, x.shape[1]!, out(h as number, a.kernel[0], a.strides[0], a.pads[0], a.pads[2]), out(w as number, a.kernel[1], a.strides[1], a.pads[1], a.pads[3])];
    return [{ dtype: sameDType(ctx, ins, ["float32", "float64"]), shape }, { dtype: "int64", shape }];
  },
  onnx: (e, { inputs, outputs, attrs }) =>
    e.node("MaxPool", inputs, { kernel_shape: attr.ints(attrs.kernel), strides: attr.ints(attrs.strides), pads: attr.ints([...attrs.pads]) }, { outputs }),
  vjp: ({ g: [g], inputs: [x], outputs: [, idx] }) => {
    const flat = scatterElementsAdd(zerosLike(reshape(x!, [-1])), reshape(idx!, [-1]), reshape(g!, [-1]), 0);
    return [reshapeLike(flat, x!)];
  },
});
export const maxPool = (x: Tensor, a: PoolAttrs): Tensor => maxPoolOp([x], a)[0]!;
