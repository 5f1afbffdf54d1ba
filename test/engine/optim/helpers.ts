// Test helpers for the optimiser tests: a tiny safetensors reader (src/io/safetensors.ts is being
// written concurrently; this stays local so these tests do not depend on it) and closeness checks.

import assert from "node:assert/strict";
import { HostTensor } from "../../../src/engine/host-tensor.js";

/** Reads F32 / F64 / I64 tensors of a .safetensors file (little-endian hosts). */
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
