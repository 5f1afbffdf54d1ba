// Reduced-precision copies of linear-layer weights for inference, made once when a model loads.
// A PyTorch-layout weight [out, in] is stored transposed ([in, out] = [K, N]) so the graph
// multiplies x [.., K] by it directly.
//   int8: symmetric per-output-column scale s_j = max_i |w_ij| / 127, q_ij = round(w_ij / s_j) in
//         [-127, 127], stored as uint8 q + 128 (zero point 128): ONNX Runtime's MatMulInteger runs
//         uint8 x uint8 on CPU and in onnxruntime-web alike, so no int8 tensor type is needed.
//   fp16: IEEE half bits (round to nearest even), cast back to float32 inside the graph.

import type { HostTensor } from "../host-tensor.js";
import { DTypeError, ShapeError, fmtShape } from "../errors.js";

/** Precision of generator inference: "fp32" (the weights as stored), "fp16" or "int8" linear weights. */
export type InferenceDType = "fp32" | "fp16" | "int8";
export const INFERENCE_DTYPES: readonly InferenceDType[] = ["fp32", "fp16", "int8"];

export interface Int8Weight {
  readonly kind: "int8";
  /** Rows K = in features, columns N = out features. */
  readonly k: number;
  readonly n: number;
  /** [K, N] row-major, q + 128. */
  readonly q: Uint8Array;
  /** [N] per-column scale. */
  readonly scale: Float32Array;
}

export interface Fp16Weight {
  readonly kind: "fp16";
  readonly k: number;
  readonly n: number;
  /** [K, N] row-major IEEE binary16 bits. */
  readonly bits: Uint16Array;
}

export type ReducedWeight = Int8Weight | Fp16Weight;

/** What a graph under construction asks for a linear layer's reduced weight, by parameter key. */
export interface ReducedWeights {
  readonly dtype: Exclude<InferenceDType, "fp32">;
  get(key: string): ReducedWeight | undefined;
}

/** The zero point of the stored uint8 weights. */
export const INT8_ZERO_POINT = 128;

function checkMatrix(op: string, w: HostTensor): [number, number, Float32Array] {
  if (w.dtype !== "float32") throw new DTypeError({ op, expected: "a float32 weight", got: w.dtype });
  if (w.shape.length !== 2) throw new ShapeError({ op, expected: "a weight [out, in]", got: fmtShape(w.shape) });
  return [w.shape[0]!, w.shape[1]!, w.data as Float32Array];
}

export function quantizeInt8(w: HostTensor): Int8Weight {
  const [n, k, data] = checkMatrix("quantizeInt8", w);
  const scale = new Float32Array(n);
  const q = new Uint8Array(k * n);
  for (let j = 0; j < n; j++) {
    let max = 0;
    for (let i = 0; i < k; i++) max = Math.max(max, Math.abs(data[j * k + i]!));
    // An all-zero column keeps scale 1: its codes are all 0 and dequantize to exactly 0.
    const s = max > 0 ? max / 127 : 1;
    scale[j] = s;
    for (let i = 0; i < k; i++) q[i * n + j] = Math.max(-127, Math.min(127, Math.round(data[j * k + i]! / s))) + INT8_ZERO_POINT;
  }
  return { kind: "int8", k, n, q, scale };
}

export function toFp16Weight(w: HostTensor): Fp16Weight {
  const [n, k, data] = checkMatrix("toFp16Weight", w);
  const bits = new Uint16Array(k * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < k; i++) bits[i * n + j] = float32ToFloat16Bits(data[j * k + i]!);
  return { kind: "fp16", k, n, bits };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits of a float32, rounding to nearest even; overflow gives +-inf, NaN stays NaN. */
export function float32ToFloat16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the implicit-one mantissa into place, round to nearest even.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    if (rest > half || (rest === half && (r & 1))) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1))) r++; // may carry into the exponent: still correct
  return sign | r;
}

/** The float value of IEEE binary16 bits. */
export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** Reduced copies of the given [out, in] weights, by key. */
export function reduceWeights(dtype: Exclude<InferenceDType, "fp32">, weights: ReadonlyMap<string, HostTensor>): ReducedWeights {
  const out = new Map<string, ReducedWeight>();
  for (const [key, w] of weights) out.set(key, dtype === "int8" ? quantizeInt8(w) : toFp16Weight(w));
  return { dtype, get: (key) => out.get(key) };
}
