// Shared helpers for the evaluation tests: golden-case tensors by name and tolerance-checked
// comparison with the worst element in the failure message.

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadGoldenCase, compareTensors, toleranceFor, type GoldenCase, type Tolerance } from "../../src/io/golden.js";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { Rng } from "../../src/engine/rng.js";

export const GOLDEN_ROOT = join(import.meta.dirname, "../../../shared/golden");

export function goldenCase(name: string): GoldenCase {
  return loadGoldenCase(`${GOLDEN_ROOT}/${name}`);
}

export function tensor(c: GoldenCase, name: string): HostTensor {
  const t = c.tensors.get(name);
  assert.ok(t, `golden ${c.name} has tensor ${name}`);
  return t;
}

/** Asserts got ≈ the golden tensor `name` under `tol` (default: the case's tolerance for it). */
export function assertGolden(c: GoldenCase, name: string, got: HostTensor, tol: Tolerance = toleranceFor(c.tolerance, name)): void {
  const expected = tensor(c, name);
  const cmp = compareTensors(got, expected, tol);
  assert.ok(cmp.ok, `${c.name}/${name}: ${cmp.reason ?? `${cmp.mismatches} mismatches, worst |err|/tol ${cmp.worstRatio.toExponential(3)} at ${cmp.worstIndex} (got ${got.at(cmp.worstIndex)}, expected ${expected.at(cmp.worstIndex)}), max abs err ${cmp.maxAbsErr.toExponential(3)}`} (atol ${tol.atol}, rtol ${tol.rtol})`);
}

/** A float64 scalar in the golden convention (shape [1]). */
export const scalar64 = (v: number): HostTensor => HostTensor.f64([v], [1]);

/** Random symmetric matrix with N(0,1) entries (row-major). */
export function randomSymmetric(rng: Rng, n: number): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rng.normal();
  return a;
}

/** Random PSD covariance-like matrix X^T X / (m - 1) of rank min(m, n). */
export function randomCovariance(rng: Rng, n: number, m: number): Float64Array {
  const x = Array.from({ length: m * n }, () => rng.normal());
  const s = new Float64Array(n * n);
  for (let r = 0; r < m; r++) {
    for (let i = 0; i < n; i++) {
      const xi = x[r * n + i]!;
      for (let j = 0; j <= i; j++) s[i * n + j]! += xi * x[r * n + j]!;
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) s[j * n + i] = s[i * n + j]! /= m - 1;
  return s;
}

export { Rng };
