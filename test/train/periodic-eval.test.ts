// Training a user can leave running: the generator's periodic evaluation of a fixed sample lands in
// metrics.jsonl and eval.png, <run>/best/ holds the model of the best evaluation (and survives a
// pause and resume unchanged), and the ETA accounts for the remaining steps and periodic tasks.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { trainGenerator } from "../../src/train/generator.js";
import { trainTokenizer } from "../../src/train/tokenizer.js";
import { runTokenizerEval, scoreTokenizerEval } from "../../src/eval/run-tokenizer-eval.js";
import { InDomainClassifier } from "../../src/eval/classifier.js";
import { loadFashionMnist } from "../../src/data/fashion-mnist.js";
import { Tokenizer } from "../../src/models/tokenizer/tokenizer.js";
import { Generator } from "../../src/models/generator/generator.js";
import { parseTokenizerRecipe } from "../../src/train/tokenizer-recipe.js";
import { smallClassifierSpecs, type SmallClassifierConfig } from "../../src/models/perceptual/small-classifier.js";
import { writeClassifierFile } from "../../src/eval/classifier.js";
import { ParamStore } from "../../src/engine/params.js";
import { ConfigError } from "../../src/engine/errors.js";
import { finishTime, RunClock } from "../../src/train/eta.js";
import { ProgressBar } from "../../src/node/progress.js";
import type { BestRecord } from "../../src/train/best-checkpoint.js";
import { tempDir, tinyGeneratorDoc, tinyTokenizerDoc } from "./helpers.js";

const session = { threads: 1 };
const dir = tempDir("periodic-eval");
const tokenizer = join(dir, "tokenizer.safetensors");
Tokenizer.random(parseTokenizerRecipe(await import("./helpers.js").then((h) => h.tinyTokenizerDoc())).tokenizer, 7).save(tokenizer);
// A tiny random classifier: the test checks the bookkeeping, not the quality of the numbers.
const classifier = join(dir, "classifier.safetensors");
const clsCfg: SmallClassifierConfig = { inChannels: 1, numClasses: 10, width: 8, numStages: 2, imageSize: 32, mean: [0.5], std: [0.5] };
writeClassifierFile(classifier, ParamStore.init(smallClassifierSpecs(clsCfg), 3).values, clsCfg);
const doc = tinyGeneratorDoc(["training.max_train_steps=12", "experiment.eval_every=4", "training.eval_samples=20"]);
type Rec = { step: number } & Record<string, number>;
const records = (out: string): Rec[] => readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Rec);

test("train-generator: periodic evaluation in metrics and plots; best/ is the argmin of eval_score; it survives a resume", async () => {
  const out = tempDir("gen-eval");
  const lines: string[] = [];
  const result = await trainGenerator(doc, { out, tokenizer, classifier, session, progress: false, log: (l) => lines.push(l) });
  assert.equal(result.finished, true);
  const evals = records(out).filter((r) => "eval_fd" in r);
  assert.deepEqual(evals.map((r) => r.step), [4, 8, 12]);
  for (const r of evals) {
    for (const k of ["eval_class_accuracy", "eval_precision", "eval_recall"]) assert.ok(r[k]! >= 0 && r[k]! <= 1, `${k} ${r[k]}`);
    assert.ok(Number.isFinite(r.eval_fd) && r.eval_fd! > 0);
    assert.ok(Math.abs(r.eval_score! - (r.eval_fd! + (1 - r.eval_class_accuracy!) + (1 - r.eval_recall!))) < 1e-12);
  }
  assert.ok(existsSync(join(out, "eval.png")));
  const best = JSON.parse(readFileSync(join(out, "best", "best.json"), "utf8")) as BestRecord;
  const min = Math.min(...evals.map((r) => r.eval_score!));
  assert.equal(best.value, min);
  assert.equal(best.step, evals.find((r) => r.eval_score === min)!.step, "the first step reaching the minimum");
  assert.deepEqual([best.key, best.mode], ["eval_score", "min"]);
  const g = await Generator.load(join(out, "best", "generator.safetensors"));
  assert.equal(g.config.numClasses, 10);
  await g.dispose();
  assert.equal(lines.filter((l) => /^step \d+\/12: eval_fd .* ETA /.test(l)).length, 3, lines.join("\n"));
  // The same run paused after 6 steps and resumed ends with the same best/.
  const paused = tempDir("gen-eval-paused");
  await trainGenerator(doc, { out: paused, tokenizer, classifier, session, progress: false, stopAfter: 6, log: () => {} });
  assert.equal((JSON.parse(readFileSync(join(paused, "best", "best.json"), "utf8")) as BestRecord).step, 4);
  await trainGenerator(doc, { out: paused, tokenizer, classifier, session, progress: false, resume: true, log: () => {} });
  const again = JSON.parse(readFileSync(join(paused, "best", "best.json"), "utf8")) as BestRecord;
  assert.deepEqual([again.step, again.value], [best.step, best.value]);
  assert.deepEqual(readFileSync(join(paused, "best", "generator.safetensors")), readFileSync(join(out, "best", "generator.safetensors")));
});

test("train-generator: eval_samples must exceed k = 3 and fit the test split", async () => {
  await assert.rejects(trainGenerator(tinyGeneratorDoc(["training.eval_samples=3"]), { out: tempDir("gen-eval-bad"), tokenizer, classifier, session, progress: false }), ConfigError);
  await assert.rejects(trainGenerator(tinyGeneratorDoc(["training.eval_samples=-1"]), { out: tempDir("gen-eval-neg"), tokenizer, classifier, session, progress: false }), ConfigError);
});

test("train-tokenizer: training.eval_samples scores held-out reconstructions as eval-tokenizer does; best/ is the argmin of eval_rfd", async () => {
  const out = tempDir("tok-eval");
  const tdoc = tinyTokenizerDoc(["training.max_train_steps=9", "experiment.eval_every=3", "training.eval_samples=40", "losses.discriminator_start=1000"]);
  const result = await trainTokenizer(tdoc, { out, classifier, session, progress: false, log: () => {} });
  assert.equal(result.finished, true);
  const evals = records(out).filter((r) => "eval_rfd" in r);
  assert.deepEqual(evals.map((r) => r.step), [3, 6, 9]);
  for (const r of evals) {
    assert.ok(Number.isFinite(r.eval_rfd) && r.eval_rfd! > 0, `eval_rfd ${r.eval_rfd}`);
    assert.ok(r.eval_psnr! > 0 && r.eval_codebook_usage! > 0 && r.eval_codebook_usage! <= 1);
  }
  assert.ok(existsSync(join(out, "eval-rfd.png")));
  const best = JSON.parse(readFileSync(join(out, "best", "best.json"), "utf8")) as BestRecord;
  const min = Math.min(...evals.map((r) => r.eval_rfd!));
  assert.deepEqual([best.key, best.mode, best.value, best.step], ["eval_rfd", "min", min, evals.find((r) => r.eval_rfd === min)!.step]);
  // The number is eval-tokenizer's on the first 40 test images, for the tokenizer best/ holds.
  const tok = await Tokenizer.load(join(out, "best", "tokenizer.safetensors"), { session });
  const cls = InDomainClassifier.load(classifier, { imageFit: "resize", session });
  const again = await scoreTokenizerEval(await runTokenizerEval({ tokenizer: tok, classifier: cls, data: await loadFashionMnist({ split: "test" }), limit: 40, size: 16, fit: "resize", batchSize: 64, session }), session);
  await Promise.all([tok.dispose(), cls.dispose()]);
  assert.ok(Math.abs(again.rfd_fmnist - best.value) <= 1e-9 * Math.max(1, best.value), `${again.rfd_fmnist} vs ${best.value}`);
  assert.ok(Math.abs(again.psnr - best.metrics.eval_psnr!) <= 1e-9 * again.psnr);
});

test("train-tokenizer: eval_samples must be 0 or 2 up to the held-out count", async () => {
  for (const n of [1, 10001, -1]) {
    await assert.rejects(trainTokenizer(tinyTokenizerDoc([`training.eval_samples=${n}`]), { out: tempDir("tok-eval-bad"), classifier, session, progress: false }), ConfigError, `eval_samples=${n}`);
  }
});

test("RunClock: remaining steps at the recent step time plus the remaining periodic tasks", () => {
  const c = new RunClock(10);
  assert.equal(c.eta(0, {}), Infinity);
  c.step(5); // first step: compiling, left out of the average
  c.step(1);
  c.step(1);
  assert.equal(c.eta(3, {}), 7);
  c.task("eval", 2);
  // evals at steps 5 and 10 remain: 7 + 2 x 2
  assert.equal(c.eta(3, { eval: 5 }), 11);
  // every 4 steps out of 10: steps 4, 8 and the last step 10 remain
  assert.equal(c.eta(3, { eval: 4 }), 7 + 3 * 2);
  assert.equal(c.eta(10, { eval: 4 }), 0);
  assert.equal(finishTime(90, new Date("2026-01-02T10:00:00Z")), "10:01 UTC");
  assert.equal(finishTime(86400, new Date("2026-01-02T10:00:00Z")), "2026-01-03 10:00 UTC");
});

test("ProgressBar shows the caller's ETA when given", () => {
  const bar = new ProgressBar({ label: "x", total: 10, stream: { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream });
  bar.update(3, {}, 125);
  assert.match(bar.render({}), /ETA 2m05s/);
});
