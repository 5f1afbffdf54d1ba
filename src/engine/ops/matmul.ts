// Batched matrix product with broadcasting over leading dims: [..., M, K] x [..., K, N].

import { defineOp, sameDType } from "./define-op.js";
import { broadcastShapes } from "../graph/shape.js";
import type { Tensor } from "../graph/tensor.js";
import { fmtShape } from "../errors.js";
import { sumToShape } from "./reduce.js";
import { reshape, transposeLast2 } from "./shape-ops.js";

const matmulOp = defineOp<null>({
  name: "matmul",
  infer: (ins, _a, ctx) => {
    const [a, b] = ins as [Tensor, Tensor];
    const dtype = sameDType(ctx, ins, ["float32", "float64"]);
    if (a.rank < 2 || b.rank < 2) ctx.shapeError("operands of rank >= 2", `${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
    const k1 = a.shape[a.rank - 1], k2 = b.shape[b.rank - 2];
    if (k1 !== k2) ctx.shapeError(`inner dimensions to match`, `a ${fmtShape(a.shape)} and b ${fmtShape(b.shape)} (${k1} vs ${k2})`);
    const batch = broadcastShapes("matmul", a.shape.slice(0, -2), b.shape.slice(0, -2), ctx.scope);
    return [{ dtype, shape: [...batch, a.shape[a.rank - 2]!, b.shape[b.rank - 1]!] }];
  },
  onnx: (e, { inputs, outputs }) => e.op("MatMul", inputs, {}, outputs[0]),
  vjp: ({ g: [g], inputs: [a, b] }) => [
    sumToShape(matmul(g!, transposeLast2(b!)), a!.shape),
    b!.rank === 2 && a!.rank > 2 ? sharedWeightGrad(a!, g!) : sumToShape(matmul(transposeLast2(a!), g!), b!.shape),
  ],
});

/**
 * The gradient of a 2-D b shared by every batch row of a [..., M, K] (a linear layer's weight):
 * one GEMM over the flattened rows, a^T [K, rows] x g [rows, N], rather than a per-batch product
 * [..., K, N] summed over the batch (an extra tensor the size of b per batch row, and a reduction).
 */
function sharedWeightGrad(a: Tensor, g: Tensor): Tensor {
  const k = a.shape[a.rank - 1]!, n = g.shape[g.rank - 1]!;
  return matmul(transposeLast2(reshape(a, [-1, k])), reshape(g, [-1, n]));
}

export const matmul = (a: Tensor, b: Tensor): Tensor => matmulOp([a, b], null)[0]!;
