// Nearest-neighbour upsampling on [B, C, H, W] (the decoder's x2). Bilinear resizing is a
// composite (nn/resize.ts): two matmuls with interpolation matrices, so it is differentiable.

import { defineOp, sameDType } from "./define-op.js";
import type { Tensor } from "../graph/tensor.js";
import { attr } from "../onnx/emitter.js";
import { fmtShape } from "../errors.js";
import { reduceSum } from "./reduce.js";
import { reshape } from "./shape-ops.js";
import { HostTensor } from "../host-tensor.js";

const upsampleNearestOp = defineOp<{ factor: number }>({
  name: "upsampleNearest",
  infer: (ins, { factor }, ctx) => {
    const x = ins[0]!;
    if (x.rank !== 4 || typeof x.shape[2] !== "number" || typeof x.shape[3] !== "number") ctx.shapeError("x [B, C, H, W] with static H, W", fmtShape(x.shape));
    return [{ dtype: sameDType(ctx, ins, ["float32", "float64"]), shape: [x.shape[0]!, x.shape[1]!, (x.shape[2] as number) * factor, (x.shape[3] as number) * factor] }];
  },
  onnx: (e, { inputs, outputs, attrs }) =>
    e.op("Resize", [inputs[0]!, "", e.initializer(scalesFor(attrs.factor))], {
      mode: attr.string("nearest"), coordinate_transformation_mode: attr.string("asymmetric"), nearest_mode: attr.string("floor"),
    }, outputs[0]),
  // Each input pixel was copied into a factor x factor block: sum the block.
  vjp: ({ g: [g], inputs: [x], attrs: { factor } }) => {
    const [b, c, h, w] = x!.shape;
    return [reduceSum(reshape(g!, [b!, c!, h!, factor, w!, factor]), [3, 5])];
  },
});
const scalesFor = (f: number) => HostTensor.f32([1, 1, f, f]);
/** Nearest-neighbour upsampling by an integer factor (PyTorch `interpolate(mode="nearest")`). */
export const upsampleNearest = (x: Tensor, factor = 2): Tensor => upsampleNearestOp([x], { factor })[0]!;
