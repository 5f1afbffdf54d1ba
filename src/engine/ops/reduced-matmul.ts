// x [..., K] float32 times a reduced-precision weight baked into the model (engine/quant/weights):
//   int8: DynamicQuantizeLinear(x) -> uint8 x, scale, zero point (per tensor, per run);
//         MatMulInteger(x_q, W_q, x_zp, 128) -> int32; Cast float; * (x_scale * w_scale[N]).
//   fp16: Cast(W_fp16 -> float32), MatMul (ONNX Runtime's CPU provider has no fp16 MatMul kernel
//         worth using: its fp16 GEMM is for ARM; on x64 it would insert casts anyway).
// Standard ONNX ops only, so the same graph runs on onnxruntime-node and onnxruntime-web.
// Inference only: no VJP (differentiating through it raises MissingRuleError).

import { defineOp } from "./define-op.js";
import type { Tensor } from "../graph/tensor.js";
import { HostTensor } from "../host-tensor.js";
import { attr } from "../onnx/emitter.js";
import { onnxDTypeCode } from "../graph/dtype.js";
import { MissingRuleError, fmtShape } from "../errors.js";
import { INT8_ZERO_POINT, type ReducedWeight } from "../quant/weights.js";

/** ONNX TensorProto.DataType FLOAT16 (the host has no float16 dtype; only these weights use it). */
const ONNX_FLOAT16 = 10;

const reducedMatmulOp = defineOp<{ weight: ReducedWeight }>({
  name: "reducedMatmul",
  infer: (ins, { weight }, ctx) => {
    const x = ins[0]!;
    if (x.dtype !== "float32") ctx.dtypeError("float32", x.dtype);
    if (x.rank < 1 || x.shape[x.rank - 1] !== weight.k) ctx.shapeError(`x [..., ${weight.k}]`, fmtShape(x.shape));
    return [{ dtype: "float32", shape: [...x.shape.slice(0, -1), weight.n] }];
  },
  onnx: (e, { inputs, outputs, attrs: { weight: w } }) => {
    if (w.kind === "fp16") {
      const name = e.fresh("w_fp16");
      const raw = new Uint8Array(w.bits.buffer, w.bits.byteOffset, w.bits.byteLength);
      e.initializers.push({ name, dataType: ONNX_FLOAT16, dims: [w.k, w.n], rawData: raw });
      const w32 = e.op("Cast", [name], { to: attr.int(onnxDTypeCode.float32) });
      e.op("MatMul", [inputs[0]!, w32], {}, outputs[0]);
      return;
    }
    const [xq, xScale, xZero] = e.node("DynamicQuantizeLinear", [inputs[0]!], {}, { outputs: 3 });
    const wq = e.initializer(new HostTensor("uint8", [w.k, w.n], w.q), "w_int8");
    const wZero = e.initializer(new HostTensor("uint8", [], Uint8Array.of(INT8_ZERO_POINT)), "w_zero_point");
    const acc = e.op("MatMulInteger", [xq!, wq, xZero!, wZero]);
    const accF = e.op("Cast", [acc], { to: attr.int(onnxDTypeCode.float32) });
    const scale = e.op("Mul", [xScale!, e.initializer(new HostTensor("float32", [w.n], w.scale), "w_scale")]);
    e.op("Mul", [accF, scale], {}, outputs[0]);
  },
  // Not "none" (which would silently pass no gradient to x): this op has no derivative rule.
  vjp: () => {
    throw new MissingRuleError({ op: "reducedMatmul", expected: "a differentiable matmul", got: "a reduced-precision inference matmul", hint: "train and differentiate with dtype fp32" });
  },
});

/** x [..., K] @ W [K, N] with W held in reduced precision (see engine/quant/weights.ts). */
export const reducedMatmul = (x: Tensor, weight: ReducedWeight): Tensor => reducedMatmulOp([x], { weight })[0]!;
