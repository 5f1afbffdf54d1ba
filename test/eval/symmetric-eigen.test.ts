// Symmetric eigen-decomposition and pivoted Cholesky against their defining identities.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { symmetricEigen, tridiagonalize, tridiagonalEigen } from "../../src/eval/symmetric-eigen.js";
import { pivotedCholesky } from "../../src/eval/psd-factor.js";
import { Rng, randomCovariance, randomSymmetric } from "./helpers.js";

function frobenius(a: Float64Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return Math.sqrt(s);
}

/** max |A v_i - lambda_i v_i| / ||A||, max |V V^T - I|. */
function eigenErrors(a: Float64Array, n: number, values: Float64Array, vectors: Float64Array): { residual: number; orthogonality: number } {
  const scale = Math.max(frobenius(a), 1e-300);
  let residual = 0, orthogonality = 0;
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < n; r++) {
      let av = 0;
      for (let c = 0; c < n; c++) av += a[r * n + c]! * vectors[i * n + c]!;
      residual = Math.max(residual, Math.abs(av - values[i]! * vectors[i * n + r]!) / scale);
    }
    for (let j = 0; j <= i; j++) {
      let dot = 0;
      for (let c = 0; c < n; c++) dot += vectors[i * n + c]! * vectors[j * n + c]!;
      orthogonality = Math.max(orthogonality, Math.abs(dot - (i === j ? 1 : 0)));
    }
  }
  return { residual, orthogonality };
}

for (const n of [1, 2, 3, 5, 17, 64, 150]) {
  test(`symmetricEigen random symmetric n=${n}: A v = lambda v, V orthonormal, ascending, trace preserved`, () => {
    const rng = new Rng(1000 + n);
    const a = randomSymmetric(rng, n);
    const { values, vectors } = symmetricEigen(a, n, { vectors: true });
    assert.ok(vectors);
    const { residual, orthogonality } = eigenErrors(a, n, values, vectors);
    assert.ok(residual < 1e-13 * Math.max(n, 4), `residual ${residual}`);
    assert.ok(orthogonality < 1e-13 * Math.max(n, 4), `orthogonality ${orthogonality}`);
    for (let i = 1; i < n; i++) assert.ok(values[i - 1]! <= values[i]!, "ascending");
    let trace = 0, sum = 0;
    for (let i = 0; i < n; i++) { trace += a[i * n + i]!; sum += values[i]!; }
    assert.ok(Math.abs(trace - sum) < 1e-11 * n, `trace ${trace} vs sum of eigenvalues ${sum}`);
    const valuesOnly = symmetricEigen(a, n).values;
    for (let i = 0; i < n; i++) assert.ok(Math.abs(valuesOnly[i]! - values[i]!) < 1e-12 * Math.max(1, Math.abs(values[i]!)) * n, "values-only path agrees");
  });
}

test("symmetricEigen recovers a prescribed spectrum (with repeated and zero eigenvalues)", () => {
  const n = 40, rng = new Rng(7);
  const spectrum = Array.from({ length: n }, (_, i) => (i < 5 ? 0 : i < 10 ? 2.5 : rng.normal() * 10));
  // A = Q diag(spectrum) Q^T with Q a product of random reflectors.
  let q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  for (let r = 0; r < 6; r++) {
    const v = Array.from({ length: n }, () => rng.normal());
    const vv = v.reduce((s, x) => s + x * x, 0);
    const next = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += ((i === k ? 1 : 0) - (2 * v[i]! * v[k]!) / vv) * q[k * n + j]!;
      next[i * n + j] = s;
    }
    q = next;
  }
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += q[i * n + k]! * spectrum[k]! * q[j * n + k]!;
    a[i * n + j] = s;
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j]!;
  const got = symmetricEigen(a, n).values;
  const want = Float64Array.from(spectrum).sort();
  for (let i = 0; i < n; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-12 * 40, `eigenvalue ${i}: ${got[i]} vs ${want[i]}`);
});

test("symmetricEigen edge cases: empty, zero, diagonal, already tridiagonal", () => {
  assert.equal(symmetricEigen(new Float64Array(0), 0).values.length, 0);
  assert.deepEqual([...symmetricEigen(new Float64Array(9), 3).values], [0, 0, 0]);
  assert.deepEqual([...symmetricEigen(Float64Array.from([3, 0, 0, 0, -1, 0, 0, 0, 2]), 3).values], [-1, 2, 3]);
  // Tridiagonal 1-2-1 (second-difference) matrix: eigenvalues 2 - 2 cos(k pi / (n + 1)).
  const n = 30;
  const t = tridiagonalEigen({ diag: new Float64Array(n).fill(2), off: Float64Array.from({ length: n }, (_, i) => (i < n - 1 ? -1 : 0)) }).sort();
  for (let k = 1; k <= n; k++) assert.ok(Math.abs(t[k - 1]! - (2 - 2 * Math.cos((k * Math.PI) / (n + 1)))) < 1e-13);
  assert.throws(() => symmetricEigen(Float64Array.from([1, NaN, NaN, 1]), 2), /finite/);
  assert.throws(() => tridiagonalize(new Float64Array(5), 2), /2x2/);
});

test("pivotedCholesky: F F^T reproduces full-rank and rank-deficient PSD matrices", () => {
  const rng = new Rng(3);
  for (const [n, m] of [[20, 100], [30, 10], [1, 5]] as const) {
    const s = randomCovariance(rng, n, m);
    const { f, rank, residual } = pivotedCholesky(s, n);
    assert.equal(rank, Math.min(n, m), `rank of ${n}-d (uncentred) covariance from ${m} samples`);
    assert.ok(residual >= 0);
    let err = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let v = 0;
      for (let k = 0; k < rank; k++) v += f[i * rank + k]! * f[j * rank + k]!;
      err = Math.max(err, Math.abs(v - s[i * n + j]!));
    }
    assert.ok(err < 1e-12 * Math.max(1, frobenius(s)), `reconstruction error ${err}`);
  }
});

test("tridiagonalEigen converges next to eigenvalues near 0 (a case that stalled a neighbour-relative deflation test)", () => {
  const fixture = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../fixtures/stalled-tridiagonal.json"), "utf8")) as { diag: number[]; off: number[] };
  const t = { diag: Float64Array.from(fixture.diag), off: Float64Array.from(fixture.off) };
  const values = tridiagonalEigen(t);
  // Orthogonal similarity keeps the trace and the Frobenius norm.
  let trace = 0, frob = 0, sum = 0, sumSq = 0;
  t.diag.forEach((d, i) => { trace += d; frob += d * d + 2 * t.off[i]! ** 2; });
  for (const v of values) { sum += v; sumSq += v * v; }
  assert.ok(Math.abs(sum - trace) < 1e-14 * t.diag.length, `sum of eigenvalues ${sum} vs trace ${trace}`);
  assert.ok(Math.abs(sumSq - frob) < 1e-14 * t.diag.length * frob, `sum of squares ${sumSq} vs ${frob}`);
});

test("tridiagonalEigen refuses non-finite entries with a ShapeError", () => {
  assert.throws(() => tridiagonalEigen({ diag: Float64Array.of(1, Number.NaN), off: Float64Array.of(0.5, 0) }), /finite diagonal and off-diagonal entries/);
});
