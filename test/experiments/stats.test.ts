import { test } from "node:test";
import assert from "node:assert/strict";
import { fmtSpread, separation, spearman, spread } from "../../src/experiments/stats.js";
import { tableMarkdown } from "../../src/experiments/results.js";
import { perturbIds } from "../../src/experiments/bit-analysis.js";
import { HostTensor } from "../../src/engine/host-tensor.js";

test("spread: mean and sample standard deviation; one value has no spread", () => {
  const s = spread([1, 2, 3, 4]);
  assert.equal(s.mean, 2.5);
  assert.ok(Math.abs(s.std - Math.sqrt(5 / 3)) < 1e-12);
  assert.equal(spread([7]).std, 0);
  assert.equal(fmtSpread(spread([1, 3]), 1), "2.0 ± 1.4");
  assert.equal(fmtSpread(spread([1.234]), 2), "1.23");
});

test("separation: overlapping one-sigma bands are inside the seed spread", () => {
  assert.equal(separation(spread([1, 2]), spread([1.5, 2.5])), "inside seed spread");
  assert.equal(separation(spread([1, 1.1]), spread([5, 5.1])), "outside seed spread");
  assert.equal(separation(spread([1]), spread([5, 5.1])), "single seed");
});

test("spearman: monotone 1, reversed -1, ties averaged", () => {
  assert.ok(Math.abs(spearman([1, 2, 3, 4], [10, 20, 30, 100]) - 1) < 1e-12);
  assert.ok(Math.abs(spearman([1, 2, 3, 4], [4, 3, 2, 1]) + 1) < 1e-12);
  assert.ok(Math.abs(spearman([1, 1, 2, 2], [1, 2, 3, 4]) - 0.8944271909999159) < 1e-12);
});

test("perturbIds: a bit plane flips that bit of every id; random kinds stay in range and are seeded", () => {
  const ids = HostTensor.i64([0, 5, 1023, 512], [1, 2, 2]);
  assert.deepEqual([...(perturbIds(ids, 10, { kind: "bit", bit: 0 }, 1).data as BigInt64Array)], [1n, 4n, 1022n, 513n]);
  assert.deepEqual([...(perturbIds(ids, 10, { kind: "bit", bit: 9 }, 1).data as BigInt64Array)], [512n, 517n, 511n, 0n]);
  const r = perturbIds(ids, 10, { kind: "random-bit" }, 3);
  [...(r.data as BigInt64Array)].forEach((v, i) => {
    const x = Number(v) ^ Number((ids.data as BigInt64Array)[i]);
    assert.equal(x & (x - 1), 0, "exactly one bit differs");
    assert.ok(x > 0 && x < 1024);
  });
  assert.deepEqual(perturbIds(ids, 10, { kind: "random-code" }, 3).data, perturbIds(ids, 10, { kind: "random-code" }, 3).data);
});

test("tableMarkdown: header, separator and one line per row; null cells as a dash", () => {
  const md = tableMarkdown({ title: "T", columns: ["a", "b"], rows: [[1, null], ["x", 0.123456]], notes: ["n"] });
  assert.equal(md, "### T\n\n| a | b |\n|---|---|\n| 1 | – |\n| x | 0.1235 |\n\n- n\n");
});
