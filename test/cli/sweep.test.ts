import { test } from "node:test";
import { EXIT } from "../../src/cli/errors.js";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/main.js";
import { Generator } from "../../src/models/generator/generator.js";
import { generator10bit, validateGeneratorConfig } from "../../src/models/generator/config.js";
import { Tokenizer } from "../../src/models/tokenizer/tokenizer.js";
import { tokenizer10bit } from "../../src/models/tokenizer/config.js";
import { smallClassifierSpecs, type SmallClassifierConfig } from "../../src/models/perceptual/small-classifier.js";
import { writeClassifierFile } from "../../src/eval/classifier.js";
import { ParamStore } from "../../src/engine/params.js";
import { encodeIdx } from "../../src/data/idx.js";
import { gridSettings, sweepScore, type SweepResult } from "../../src/eval/sampling-sweep.js";

// Tiny random models and a tiny Fashion-MNIST-shaped IDX directory: the sweep's structure and its
// choice are checked, not the quality of random models.
const dir = mkdtempSync(join(tmpdir(), "maskbit-sweep-"));
const p = (name: string) => join(dir, name);
const tokCfg = { ...tokenizer10bit, numChannels: 1, hiddenChannels: 32, channelMult: [1, 1, 2, 2], numResolutions: 4 };
const genCfg = validateGeneratorConfig({
  ...generator10bit, hiddenDim: 32, depth: 1, heads: 2, mlpDim: 64, numClasses: 10, tokenGrid: 4,
  sampling: { ...generator10bit.sampling, steps: 3, guidanceScale: 1.5, scalePow: 2.5, randomizeTemperature: 1 },
});
Tokenizer.random(tokCfg, 1).save(p("tok.safetensors"));
Generator.random(genCfg, 2, {}, Array.from({ length: 10 }, (_, i) => `class${i}`)).save(p("gen.safetensors"));
const clsCfg: SmallClassifierConfig = { inChannels: 1, numClasses: 10, width: 8, numStages: 2, imageSize: 32, mean: [0.5], std: [0.5] };
writeClassifierFile(p("classifier.safetensors"), ParamStore.init(smallClassifierSpecs(clsCfg), 3).values, clsCfg);
for (const prefix of ["train", "t10k"]) {
  const n = 24;
  const pixels = Uint8Array.from({ length: n * 28 * 28 }, (_, i) => (i * 2654435761) % 251);
  writeFileSync(p(`${prefix}-images-idx3-ubyte`), encodeIdx({ dtype: "uint8", dims: [n, 28, 28], data: pixels }));
  writeFileSync(p(`${prefix}-labels-idx1-ubyte`), encodeIdx({ dtype: "uint8", dims: [n], data: Uint8Array.from({ length: n }, (_, i) => i % 10) }));
}
const args = [
  "sweep", "--generator", p("gen.safetensors"), "--tokenizer", p("tok.safetensors"), "--classifier", p("classifier.safetensors"),
  "--data", dir, "--batch", "4", "--threads", "1", "--quiet", "--per-class", "1", "--reference-limit", "20",
  "--steps", "2,3", "--guidance", "0,2", "--temperature", "1", "--w-precision", "0.5",
];

test("sweep: JSON, Markdown and PNG; the best row has the lowest stated score; defaults stored in a copy", async () => {
  const out = p("s");
  assert.equal(await runCli([...args, "--out", out, "--write-defaults", p("best.safetensors")]), 0);
  const r = JSON.parse(readFileSync(`${out}.json`, "utf8")) as SweepResult & { best_setting: unknown };
  // 2 x 2 grid, plus the stored default (3 steps, guidance 1.5) which is not in the grid, first.
  assert.equal(r.rows.length, 5);
  assert.deepEqual(r.rows[0]!.setting, { steps: 3, guidanceScale: 1.5, scalePow: 2.5, randomizeTemperature: 1 });
  assert.deepEqual(r.rows.map((x) => x.is_default), [true, false, false, false, false]);
  assert.deepEqual(r.rows.slice(1).map((x) => [x.setting.steps, x.setting.guidanceScale]), [[2, 0], [2, 2], [3, 0], [3, 2]]);
  assert.equal(r.samples, 10);
  assert.deepEqual(r.weights, { accuracy: 1, precision: 0.5, recall: 1 });
  for (const row of r.rows) {
    for (const k of ["class_accuracy", "precision", "recall"] as const) assert.ok(row[k] >= 0 && row[k] <= 1, `${k} ${row[k]}`);
    assert.ok(Number.isFinite(row.fd_fmnist));
    assert.equal(row.per_class_accuracy.length, 10);
    assert.ok(Math.abs(row.score - sweepScore(row, r.weights)) < 1e-12, "score is the stated formula");
  }
  const min = Math.min(...r.rows.map((x) => x.score));
  assert.equal(r.rows[r.best]!.score, min);
  assert.equal(r.rows.findIndex((x) => x.score === min), r.best, "ties go to the first");
  assert.deepEqual(r.best_setting, r.rows[r.best]!.setting);
  const md = readFileSync(`${out}.md`, "utf8");
  assert.equal(md.split("\n").filter((l) => /^\| \d/.test(l)).length, 5);
  assert.match(md, /\*\*best\*\*/);
  assert.deepEqual([...readFileSync(`${out}.png`).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  // The copy carries the best setting as its defaults, the same weights and class names; the input is unchanged.
  const copy = await Generator.load(p("best.safetensors"));
  const input = await Generator.load(p("gen.safetensors"));
  const s = copy.config.sampling;
  assert.deepEqual({ steps: s.steps, guidanceScale: s.guidanceScale, scalePow: s.scalePow, randomizeTemperature: s.randomizeTemperature }, r.best_setting);
  assert.deepEqual(copy.classNames, input.classNames);
  assert.equal(input.config.sampling.steps, 3);
  for (const k of input.params.values.keys()) assert.deepEqual(copy.params.get(k)!.data, input.params.get(k)!.data, k);
  await Promise.all([copy.dispose(), input.dispose()]);
  // The same seed gives the same table (common random numbers, deterministic per seed).
  assert.equal(await runCli([...args, "--out", p("again")]), 0);
  const again = JSON.parse(readFileSync(p("again.json"), "utf8")) as SweepResult;
  assert.deepEqual(again.rows.map((x) => x.score), r.rows.map((x) => x.score));
});

test("sweep: never overwrites the input generator, nor an existing file without --force (usage errors); bad lists are errors", async (t) => {
  const errors: string[] = [];
  t.mock.method(console, "error", (msg: string) => { errors.push(msg); });
  const one = [...args.slice(0, -8), "--steps", "3", "--guidance", "1.5", "--temperature", "1", "--out", p("o")];
  assert.equal(await runCli([...one, "--write-defaults", p("gen.safetensors"), "--force"]), EXIT.usage);
  assert.match(errors.at(-1)!, /the run's inputs/);
  writeFileSync(p("exists.safetensors"), "x");
  assert.equal(await runCli([...one, "--write-defaults", p("exists.safetensors")]), EXIT.usage);
  assert.match(errors.at(-1)!, /--force/);
  assert.equal(readFileSync(p("exists.safetensors"), "utf8"), "x");
  assert.equal(await runCli([...one, "--guidance", "1,x"]), EXIT.usage);
  assert.match(errors.at(-1)!, /--guidance/);
  assert.ok(existsSync(p("gen.safetensors")));
  // --without-default: only the grid.
  assert.equal(await runCli([...one, "--guidance", "2", "--without-default"]), 0);
  const r = JSON.parse(readFileSync(p("o.json"), "utf8")) as SweepResult;
  assert.deepEqual(r.rows.map((x) => [x.setting.guidanceScale, x.is_default]), [[2, false]]);
  assert.equal(existsSync(p("o.partial.json")), false, "the partial file is removed at the end");
});

test("gridSettings: every combination, steps outermost", () => {
  const s = gridSettings({ steps: [4, 8], guidanceScale: [1], scalePow: [0, 2], randomizeTemperature: [1] });
  assert.deepEqual(s.map((x) => [x.steps, x.scalePow]), [[4, 0], [4, 2], [8, 0], [8, 2]]);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
