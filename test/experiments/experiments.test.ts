// The three experiments at their smoke size: files, table columns and row counts (never numbers,
// which at two training steps mean nothing). The roadmap's step-5/6 tokenizers are reused by
// bit-structure, as `--roadmap-dir` does, to keep the total time down.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUDGETS, budgetNamed } from "../../src/experiments/budget.js";
import { runExperiment } from "../../src/experiments/run-experiment.js";
import type { ExperimentResult } from "../../src/experiments/results.js";
import { ROADMAP } from "../../src/experiments/roadmap.js";
import { CELLS } from "../../src/experiments/embedding-free.js";
import { ConfigError } from "../../src/engine/errors.js";
import { experiment } from "../../src/cli/commands/experiment.js";
import { COMMANDS } from "../../src/cli/commands/index.js";

const out = mkdtempSync(join(tmpdir(), "maskbit-experiments-"));
const quiet = () => {};
process.on("exit", () => rmSync(out, { recursive: true, force: true }));

function checkFiles(dir: string, r: ExperimentResult): void {
  const json = JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as ExperimentResult;
  assert.deepEqual(json.tables.map((t) => t.title), r.tables.map((t) => t.title));
  const md = readFileSync(join(dir, "results.md"), "utf8");
  for (const t of r.tables) {
    assert.ok(md.includes(`### ${t.title}`), `markdown has table ${t.title}`);
    assert.ok(md.includes(`| ${t.columns.join(" | ")} |`), "markdown header row");
    for (const row of t.rows) assert.equal(row.length, t.columns.length, `${t.title}: one cell per column`);
  }
  assert.ok(r.figures.length > 0);
  for (const f of r.figures) {
    const png = readFileSync(join(dir, f));
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], `${f} is a PNG`);
  }
  assert.equal(json.budget, "smoke");
  assert.ok(json.wallSeconds > 0);
}

test("roadmap, then bit-structure on its tokenizers, then embedding-free, at smoke size", async () => {
  const roadmapDir = join(out, "roadmap");
  const roadmap = await runExperiment({ name: "roadmap", out: roadmapDir, budget: BUDGETS.smoke, log: quiet });
  checkFiles(roadmapDir, roadmap.result);
  const [t] = roadmap.result.tables;
  assert.deepEqual(t!.columns.slice(0, 7), ["step", "train steps", "rFD-FMNIST ↓", "rFD vs previous step", "PSNR ↑", "SSIM ↑", "codebook usage ↑"]);
  assert.equal(t!.rows.length, ROADMAP.length);
  assert.deepEqual(t!.rows.map((r) => r[7]), ROADMAP.map((s) => s.paperRfid));

  const bitsDir = join(out, "bits");
  const bits = await runExperiment({ name: "bit-structure", out: bitsDir, budget: BUDGETS.smoke, roadmapDir, log: quiet });
  checkFiles(bitsDir, bits.result);
  const [flips, summary, nn] = bits.result.tables;
  const k = 10; // the roadmap's LFQ tokenizer and its 1024-code VQ twin
  assert.equal(flips!.rows.length, 2 * (k + 2), "each bit plane, a random bit and a random code, for LFQ and VQ");
  assert.deepEqual(flips!.rows.slice(0, k).map((r) => r[1]), Array.from({ length: k }, (_, i) => `bit ${i}`));
  assert.deepEqual(summary!.rows.map((r) => r[0]), ["LFQ", "VQ (index bits)"]);
  assert.equal(nn!.columns.length, 6);
  assert.equal(nn!.rows.length, 2);
  // bit-structure trained nothing of its own
  assert.equal(existsSync(join(bitsDir, "runs")), false);

  const efDir = join(out, "ef");
  const ef = await runExperiment({ name: "embedding-free", out: efDir, budget: BUDGETS.smoke, log: quiet });
  checkFiles(efDir, ef.result);
  const [a, b] = ef.result.tables;
  assert.equal(a!.rows.length, 4, "the 2x2 table");
  assert.deepEqual(a!.rows.map((r) => `${r[0]}/${r[1]}`.replace(/ \(.\)/g, "")), [
    "VQ/learned embedding", "LFQ/learned embedding", "LFQ/bits, Linear K→D", "VQ/bits, Linear K→D",
  ]);
  assert.deepEqual(b!.rows.map((r) => r[2]), [1, 2, 4]);
  assert.equal(ef.result.details.cells instanceof Array && (ef.result.details.cells as unknown[]).length, CELLS.length);

  // Finished runs are reused: a second call trains nothing and gives the same table.
  const again = await runExperiment({ name: "embedding-free", out: efDir, budget: BUDGETS.smoke, log: (l) => assert.ok(!l.startsWith("training"), l) });
  assert.deepEqual(again.result.tables, ef.result.tables);
});

test("experiment arguments: unknown names, budgets, seeds and datasets are ConfigErrors", async () => {
  assert.ok("experiment" in COMMANDS);
  await assert.rejects(runExperiment({ name: "nope", out, budget: BUDGETS.smoke }), ConfigError);
  await assert.rejects(runExperiment({ name: "roadmap", out, budget: BUDGETS.smoke, seeds: 0 }), ConfigError);
  await assert.rejects(runExperiment({ name: "roadmap", out, budget: BUDGETS.smoke, dataset: "digits" }), ConfigError);
  assert.throws(() => budgetNamed("huge"), ConfigError);
  await assert.rejects(experiment.run(["roadmap", "--seeds", "x"]), ConfigError);
  await assert.rejects(experiment.run(["roadmap", "--bogus"]), ConfigError);
  await assert.rejects(experiment.run([]), ConfigError);
  await assert.rejects(runExperiment({ name: "bit-structure", out: join(out, "missing"), budget: BUDGETS.smoke, roadmapDir: join(out, "no-such-roadmap") }), ConfigError);
});
