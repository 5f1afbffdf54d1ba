import { test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { FeedError } from "../../src/engine/errors.js";
import { precisionRecall } from "../../src/eval/precision-recall.js";
import { gaussianOfRows, perClassAccuracy, perClassFrechet } from "../../src/eval/sample-quality.js";
import { Rng } from "./helpers.js";

const points = (xs: readonly (readonly number[])[]) => new HostTensor("float32", [xs.length, xs[0]!.length], Float32Array.from(xs.flat()));

// Real A=(0,0) B=(1,0) C=(3,0); fake P=(0.5,0) Q=(0.6,0) R=(0,5).
const real = points([[0, 0], [1, 0], [3, 0]]);
const fake = points([[0.5, 0], [0.6, 0], [0, 5]]);

test("precision/recall, k = 1, by hand", async () => {
  // Real radii: A 1 (B), B 1 (A), C 2 (B). P and Q lie in A's ball, R (5 from A) in none: precision 2/3.
  // Fake radii: P 0.1, Q 0.1, R |RP| = 5.025. Only A (|AR| = 5) is covered: recall 1/3.
  const pr = await precisionRecall(real, fake, { k: 1 });
  assert.equal(pr.precision, 2 / 3);
  assert.equal(pr.recall, 1 / 3);
  assert.deepEqual([pr.k, pr.real, pr.fake], [1, 3, 3]);
});

test("precision/recall, k = 2, by hand; one-row chunks give the same", async () => {
  // Real radii: A 3, B 2, C 3; R is 5, 5.10, 5.83 away: precision 2/3.
  // Fake radii: P 5.025, Q 5.036, R 5.036; A, B, C are 0.5, 0.5, 2.5 from P: recall 1.
  for (const maxEntries of [1 << 22, 1]) {
    const pr = await precisionRecall(real, fake, { k: 2, maxEntries });
    assert.equal(pr.precision, 2 / 3);
    assert.equal(pr.recall, 1);
  }
});

test("a point on a ball's boundary counts as inside", async () => {
  // Real radii (k=1): 1, 1; fake (2, 0) is exactly 1 from (1, 0).
  const pr = await precisionRecall(points([[0, 0], [1, 0]]), points([[2, 0], [9, 9]]), { k: 1 });
  assert.equal(pr.precision, 0.5);
});

test("precision/recall match a brute-force count on random sets, in small chunks", async () => {
  const rng = new Rng(7);
  const make = (n: number, shift: number) => Array.from({ length: n }, () => Array.from({ length: 5 }, () => rng.normal() + shift));
  const r = make(40, 0), f = make(30, 0.7);
  const d2 = (a: readonly number[], b: readonly number[]) => a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0);
  const radii = (xs: number[][], k: number) => xs.map((x, i) => xs.filter((_, j) => j !== i).map((y) => d2(x, y)).sort((a, b) => a - b)[k - 1]!);
  const cover = (q: number[][], ref: number[][], rad: number[]) => q.filter((x) => ref.some((y, j) => d2(x, y) <= rad[j]!)).length / q.length;
  const k = 3;
  const want = { precision: cover(f, r, radii(r, k)), recall: cover(r, f, radii(f, k)) };
  const got = await precisionRecall(points(r), points(f), { k, maxEntries: 64 });
  // float32 inputs: compare against the float32-rounded points.
  const round = (xs: number[][]) => xs.map((x) => x.map((v) => Math.fround(v)));
  const wantRounded = { precision: cover(round(f), round(r), radii(round(r), k)), recall: cover(round(r), round(f), radii(round(f), k)) };
  assert.deepEqual({ precision: got.precision, recall: got.recall }, wantRounded);
  assert.ok(want.precision > 0 && want.precision < 1, `a non-trivial case: ${JSON.stringify(want)}`);
});

test("k must be below the set size; features must be [N, d]", async () => {
  await assert.rejects(precisionRecall(real, fake, { k: 3 }), FeedError);
  await assert.rejects(precisionRecall(real, points([[1, 2, 3]]), { k: 1 }), FeedError);
  await assert.rejects(precisionRecall(new HostTensor("float32", [6], new Float32Array(6)), fake, { k: 1 }), FeedError);
});

test("per-class accuracy on a tiny set, by hand", () => {
  const { hits, count, accuracy } = perClassAccuracy([0, 1, 1, 2, 0], [0, 1, 2, 2, 1], 3);
  assert.deepEqual([...hits], [1, 1, 1]);
  assert.deepEqual([...count], [1, 2, 2]);
  assert.deepEqual([...accuracy], [1, 0.5, 0.5]);
  assert.throws(() => perClassAccuracy([0], [3], 3), FeedError);
});

test("per-class Gaussian and per-class FD, by hand (1-d: (mu1 - mu2)^2 + (s1 - s2)^2)", async () => {
  const g = gaussianOfRows({ features: points([[1, 2], [9, 9], [3, 6]]), labels: [0, 1, 0] }, 0);
  assert.deepEqual([...g.mu.data], [2, 4]);
  assert.deepEqual([...g.sigma.data], [2, 4, 4, 8]);
  // class 0: real {0, 2} (mu 1, var 2) vs fake {3, 5} (mu 4, var 2): 9.
  // class 1: real {0, 4} (mu 2, var 8) vs fake {1, 2} (mu 1.5, var 0.5): 0.25 + (1.5 sqrt 2)^2 = 4.75.
  // class 2: one fake sample only: null.
  const fd = await perClassFrechet(
    { features: points([[0], [0], [2], [4]]), labels: [0, 1, 0, 1] },
    { features: points([[3], [1], [5], [2], [7]]), labels: [0, 1, 0, 1, 2] }, 3);
  assert.ok(Math.abs(fd[0]! - 9) < 1e-9, String(fd[0]));
  assert.ok(Math.abs(fd[1]! - 4.75) < 1e-9, String(fd[1]));
  assert.equal(fd[2], null);
});
