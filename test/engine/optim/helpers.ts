// Test helpers for the optimiser tests: a tiny safetensors reader (src/io/safetensors.ts is being
// written concurrently; this stays local so these tests do not depend on it) and closeness checks.

import { readFileSync } from "node:fs";
import assert from "node:assert/strict";
import { HostTensor } from "../../../src/engine/host-tensor.js";

/** Reads F32 / F64 / I64 tensors of a .safetensors file (little-endian hosts). */
export function readSafetensors(path: string): Map<string, HostTensor> {
  const buf = readFileSync(path);
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString("utf8")) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const base = 8 + headerLen;
  const out = new Map<string, HostTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [s, e] = info.data_offsets;
    const bytes = new Uint8Array(buf.subarray(base + s, base + e)).slice().buffer;
    switch (info.dtype) {
      case "F32": out.set(name, new HostTensor("float32", info.shape, new Float32Array(bytes))); break;
      case "F64": out.set(name, new HostTensor("float64", info.shape, new Float64Array(bytes))); break;
      case "I64": out.set(name, new HostTensor("int64", info.shape, new BigInt64Array(bytes))); break;
      default: throw new Error(`readSafetensors: unsupported dtype ${info.dtype} for ${name}`);
    }
  }
  return out;
}

/** |a - b| <= atol + rtol * |b| elementwise, with the worst offender in the message. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, what = "values"): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i]! - expected[i]!) - (atol + rtol * Math.abs(expected[i]!));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) { worst = i; worstExcess = excess; }
  }
  if (worst >= 0) assert.fail(`${what}[${worst}]: got ${actual[worst]}, expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`);
}
