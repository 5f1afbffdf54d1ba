// Counter-based random numbers computed inside the graph: each element's value is a hash of its
// flat index, a fed int64 seed and a per-site salt. Runs are therefore deterministic for a seed,
// resumable (the seed is just a number in the checkpoint) and identical in every runtime, with
// no random tensors crossing from JS. The hash is the 32-bit integer mixer
// x = ((x >> 16) ^ x) * 0x45d9f3b (twice), x = (x >> 16) ^ x, done in uint32: the product wraps
// modulo 2^32 by itself and the shifts are BitShift, so each round is three cheap passes (in
// int64 it needed a Div for each shift and a mask after each product).

import { defineOp } from "./define-op.js";
import type { Tensor } from "../graph/tensor.js";
import { attr, type Emitter } from "../onnx/emitter.js";
import { staticSize } from "../graph/shape.js";

const MASK32 = 0xffffffff;
const MIX = 0x45d9f3b;
const ONNX_UINT32 = 12;

/** A uint32 constant (written as int64 and cast, which ORT folds at load). */
const u32 = (e: Emitter, value: number): string => e.op("Cast", [e.scalar(value, "int64")], { to: attr.int(ONNX_UINT32) });
const shiftRight = (e: Emitter, x: string, bits: number): string => e.op("BitShift", [x, u32(e, bits)], { direction: attr.string("RIGHT") });

/** The mixer on a uint32 tensor. */
function mix32(e: Emitter, x: string): string {
  const mul = u32(e, MIX);
  let h = x;
  for (let round = 0; round < 2; round++) h = e.op("Mul", [e.op("BitwiseXor", [h, shiftRight(e, h, 16)]), mul]);
  return e.op("BitwiseXor", [h, shiftRight(e, h, 16)]);
}

const randomUniformOp = defineOp<{ salt: number }>({
  name: "randomUniform",
  infer: (ins, _a, ctx) => {
    const [like, seed] = ins as [Tensor, Tensor];
    if (seed.dtype !== "int64" || seed.rank !== 0) ctx.shapeError("seed as an int64 scalar", `${seed}`);
    return [{ dtype: "float32", shape: like.shape }];
  },
  onnx: (e, { inputs, outputs, attrs, node }) => {
    const like = node.inputs[0]!;
    const mask = e.scalar(MASK32, "int64");
    const size = staticSize(like.shape) !== undefined ? e.scalar(staticSize(like.shape)!, "int64") : e.op("Size", [inputs[0]!]);
    const shape = staticSize(like.shape) !== undefined ? e.i64s(like.shape as number[]) : e.op("Shape", [inputs[0]!]);
    // The flat index modulo 2^32 (Cast to uint32 keeps the low 32 bits).
    const index = e.op("Cast", [e.op("Reshape", [e.op("Range", [e.scalar(0, "int64"), size, e.scalar(1, "int64")]), shape])], { to: attr.int(ONNX_UINT32) });
    // key = mix(seed * golden + salt) on the scalar, then each element hashes (index + key) mod 2^32.
    const seedMixed = e.op("BitwiseAnd", [e.op("Add", [e.op("Mul", [e.op("BitwiseAnd", [inputs[1]!, e.scalar(0x7fffffff, "int64")]), e.scalar(0x9e3779b1, "int64")]), e.scalar(attrs.salt >>> 0, "int64")]), mask]);
    const key = mix32(e, e.op("Cast", [seedMixed], { to: attr.int(ONNX_UINT32) }));
    const h = mix32(e, e.op("Add", [index, key]));
    // Top 23 bits -> bin midpoints (2k + 1) / 2^24 in (0, 1), exactly representable in float32
    // (24 bits would need 25 significant bits above 0.5, and the largest would round to 1.0).
    const top = e.op("Cast", [shiftRight(e, h, 9)], { to: attr.int(1) });
    e.op("Add", [e.op("Mul", [top, e.scalar(2 ** -23, "float32")]), e.scalar(2 ** -24, "float32")], {}, outputs[0]);
  },
  vjp: () => [null, null],
});

/**
 * Uniform float32 samples in (0, 1) shaped like `like`, from an int64 scalar `seed` tensor and a
 * constant `salt` that separates the random sites of one graph.
 */
export const randomUniform = (like: Tensor, seed: Tensor, salt: number): Tensor => randomUniformOp([like, seed], { salt })[0]!;
