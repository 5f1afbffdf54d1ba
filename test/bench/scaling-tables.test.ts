import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { scalingTables, type Result } from "../../bench/scaling-tables.js";

const opts = { batches: [1, 8, 64], steps: [8, 16, 64], reps: 1, threads: 2 };
const rowOf = (md: string, table: number, batch: number) => md.split("\n\n").filter((b) => b.startsWith("| batch"))[table]!.split("\n").find((l) => l.startsWith(`| ${batch} |`))!;

describe("scaling tables", () => {
  test("measured cells print the time; others are extrapolated (~), skipped or not measured, never blank", () => {
    const rs: Result[] = [
      { point: { config: "official", kind: "sample", batch: 1, steps: 3 }, m: { ms: 50_000, stepMs: 20_000, warm: false, maxRssMB: 1400, load: [2, 3] } },
      { point: { config: "official", kind: "gen-train", batch: 1 }, m: { ms: 40_000, warm: true, flops: 4e11, maxRssMB: 5000 } },
    ];
    const md = scalingTables("official", rs, opts);
    // Unwarmed batch-1 sampling: every step count is steps x the per-step time, marked.
    assert.equal(rowOf(md, 0, 1), "| 1 | ~160.0 s | ~320.0 s | ~1280.0 s | 20.0 s |");
    // Batch 8, 8 steps: the lower bound (160 s) is under 3 minutes, so not skipped, only not measured.
    assert.match(rowOf(md, 0, 8), /^\| 8 \| not measured \| skipped \(> 320\.0 s: a step at batch 1 times 16\) \|/);
    assert.equal(rowOf(md, 1, 1), "| 1 | 40.0 s (40.0 s/image, 10.0 GFLOP/s) | not measured |");
    assert.match(rowOf(md, 1, 8), /^\| 8 \| skipped \(~320\.0 s, linear from batch 1\) \| not measured \|$/);
    assert.equal(rowOf(md, 2, 1), "| 1 | 1400 MB | 5000 MB | not measured |");
    assert.match(md, /load average 2\.0-3\.0/);
    for (const line of md.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| ---"))) assert.ok(!line.includes("|  |"), line);
  });

  test("a warm measured sampling point prints its own time, and extrapolation stays within its batch", () => {
    const rs: Result[] = [{ point: { config: "fmnist", kind: "sample", batch: 8, steps: 16 }, m: { ms: 1500, stepMs: 90, warm: true, flops: 9e8, maxRssMB: 170 } }];
    const md = scalingTables("fmnist", rs, opts);
    assert.equal(rowOf(md, 0, 8), "| 8 | ~720 ms | 1.50 s | ~5.76 s | 90.0 ms (10.0 GFLOP/s) |");
    assert.equal(rowOf(md, 0, 1), "| 1 | not measured | not measured | not measured | - |");
    assert.match(rowOf(md, 0, 64), /^\| 64 \| not measured \| not measured \| not measured \| - \|$/);
    assert.match(md, /load not recorded/);
  });
});
