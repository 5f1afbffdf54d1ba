import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DTypeError, MissingRuleError, ShapeError } from "../../../src/engine/errors.js";
import { reducedMatmul, reduceSum } from "../../../src/engine/ops/index.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { grad } from "../../../src/engine/autodiff/grad.js";
import { Graph } from "../../../src/engine/graph/tensor.js";
import {
  INT8_ZERO_POINT, float16BitsToFloat32, float32ToFloat16Bits, quantizeInt8, toFp16Weight, type ReducedWeight,
} from "../../../src/engine/quant/weights.js";
import { Rng, assertClose, assertThrowsFields, evaluate1, randn, type Ref } from "../helpers.js";

/** torch.nn.Linear layout [out, in] -> the reduced weight, and the float values it stands for, [K, N]. */
function dequantized(w: ReducedWeight): Float64Array {
  const out = new Float64Array(w.k * w.n);
  for (let i = 0; i < w.k; i++)
    for (let j = 0; j < w.n; j++) {
      const idx = i * w.n + j;
      out[idx] = w.kind === "int8" ? (w.q[idx]! - INT8_ZERO_POINT) * w.scale[j]! : float16BitsToFloat32(w.bits[idx]!);
    }
  return out;
}

/** Round half to even, as ONNX's DynamicQuantizeLinear specifies. */
const roundEven = (v: number): number => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** JS reference of the int8 path: DynamicQuantizeLinear of x per tensor, integer product, dequantize. */
function refInt8(x: HostTensor, w: ReducedWeight & { kind: "int8" }): Ref {
  const xs = x.data as Float32Array;
  const lo = Math.min(0, ...xs), hi = Math.max(0, ...xs);
  const scale = Math.fround((hi - lo) / 255);
  const zp = Math.max(0, Math.min(255, roundEven(-lo / scale)));
  const xq = Array.from(xs, (v) => Math.max(0, Math.min(255, roundEven(v / scale) + zp)));
  const rows = xs.length / w.k;
  const out = new Float64Array(rows * w.n);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < w.n; j++) {
      let acc = 0;
      for (let i = 0; i < w.k; i++) acc += (xq[r * w.k + i]! - zp) * (w.q[i * w.n + j]! - INT8_ZERO_POINT);
      out[r * w.n + j] = acc * scale * w.scale[j]!;
    }
  return { shape: [...x.shape.slice(0, -1), w.n], data: out };
}

function refFloat(x: HostTensor, wkn: Float64Array, n: number): Ref {
  const xs = x.data as Float32Array, k = x.shape[x.shape.length - 1]!, rows = xs.length / k;
  const out = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += xs[r * k + i]! * wkn[i * n + j]!;
      out[r * n + j] = s;
    }
  return { shape: [...x.shape.slice(0, -1), n], data: out };
}

/** W [out, in] as [in, out] float64 (what x @ W^T multiplies by). */
const transposed = (w: HostTensor): Float64Array => {
  const [n, k] = w.shape as [number, number], d = w.data as Float32Array, out = new Float64Array(k * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < k; i++) out[i * n + j] = d[j * k + i]!;
  return out;
};

describe("float16 conversion", () => {
  test("known values round to nearest even, overflow to inf, tiny values to subnormals or zero", () => {
    const cases: [number, number][] = [
      [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff], [65520, 0x7c00], [-1e6, 0xfc00], [0, 0], [2 ** -24, 0x0001],
      [2 ** -25, 0], [3 * 2 ** -25, 0x0002], [2 ** -14, 0x0400], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [Infinity, 0x7c00],
    ];
    for (const [x, bits] of cases) assert.equal(float32ToFloat16Bits(x), bits, `${x}`);
    assert.ok(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN))));
  });

  test("every finite half value round-trips exactly", () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue; // inf / NaN
      const back = float32ToFloat16Bits(float16BitsToFloat32(h));
      assert.equal(back === 0x8000 && h === 0x8000 ? h : back, h, `0x${h.toString(16)}`);
    }
  });
});

describe("weight quantization", () => {
  test("int8: per-column symmetric scale, codes within +-127, error at most half a step", () => {
    const rng = new Rng(7);
    const w = randn(rng, [5, 9]);
    const q = quantizeInt8(w);
    assert.equal(q.k, 9); assert.equal(q.n, 5);
    const ref = transposed(w), deq = dequantized(q);
    for (let j = 0; j < 5; j++) {
      let max = 0;
      for (let i = 0; i < 9; i++) max = Math.max(max, Math.abs(ref[i * 5 + j]!));
      assert.ok(Math.abs(q.scale[j]! - max / 127) < 1e-7, `scale ${j}`);
      for (let i = 0; i < 9; i++) {
        const code = q.q[i * 5 + j]! - INT8_ZERO_POINT;
        assert.ok(code >= -127 && code <= 127);
        assert.ok(Math.abs(deq[i * 5 + j]! - ref[i * 5 + j]!) <= q.scale[j]! / 2 + 1e-7);
      }
    }
  });

  test("int8: an all-zero column dequantizes to exact zeros", () => {
    const w = new HostTensor("float32", [2, 3], Float32Array.of(0, 0, 0, 1, -2, 3));
    const deq = dequantized(quantizeInt8(w));
    assert.deepEqual([deq[0], deq[2], deq[4]], [0, 0, 0]);
  });

  test("rejects a non-matrix or non-float32 weight", () => {
    assertThrowsFields(() => quantizeInt8(new HostTensor("float32", [4], new Float32Array(4))), ShapeError, { op: "quantizeInt8" });
    assertThrowsFields(() => toFp16Weight(HostTensor.i64([1, 2], [1, 2])), DTypeError, { op: "toFp16Weight" });
  });
});

describe("reducedMatmul", () => {
  const rng = new Rng(2024);
  for (const shape of [[3, 8], [2, 5, 8], [1, 1, 8]]) {
    test(`int8 x=[${shape}] matches the JS reference of the quantized product`, async () => {
      const x = randn(rng, shape), w = quantizeInt8(randn(rng, [6, 8], 0.1));
      const y = await evaluate1((t) => reducedMatmul(t, w), [x]);
      assertClose(y, refInt8(x, w), { rtol: 1e-5, atol: 1e-6 });
    });
    test(`fp16 x=[${shape}] matches x @ half(W)`, async () => {
      const x = randn(rng, shape), w = toFp16Weight(randn(rng, [6, 8], 0.1));
      const y = await evaluate1((t) => reducedMatmul(t, w), [x]);
      assertClose(y, refFloat(x, dequantized(w), 6), { rtol: 1e-5, atol: 1e-6 });
    });
  }

  test("both stay close to the float32 product", async () => {
    const x = randn(rng, [4, 32]), w = randn(rng, [16, 32], 0.05);
    const exact = refFloat(x, transposed(w), 16);
    for (const [weight, tol] of [[quantizeInt8(w), 0.03], [toFp16Weight(w), 1e-3]] as const) {
      const y = (await evaluate1((t) => reducedMatmul(t, weight), [x])).toNumbers();
      let num = 0, den = 0;
      y.forEach((v, i) => { num += (v - exact.data[i]!) ** 2; den += exact.data[i]! ** 2; });
      assert.ok(Math.sqrt(num / den) < tol, `${weight.kind}: relative L2 ${Math.sqrt(num / den)}`);
    }
  });

  test("shape and dtype errors name the op", () => {
    const g = new Graph();
    const w = quantizeInt8(new HostTensor("float32", [2, 3], new Float32Array(6)));
    assertThrowsFields(() => reducedMatmul(g.input("x", "float32", [4, 5]), w), ShapeError, { op: "reducedMatmul" });
    assertThrowsFields(() => reducedMatmul(g.input("y", "float64", [4, 3]), w), DTypeError, { op: "reducedMatmul" });
  });

  test("differentiating through it raises MissingRuleError", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, 3]);
    const y = reduceSum(reducedMatmul(x, toFp16Weight(new HostTensor("float32", [4, 3], new Float32Array(12).fill(1)))));
    assert.throws(() => grad(y, [x]), MissingRuleError);
  });
});
