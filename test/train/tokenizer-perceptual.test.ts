// The v2 tokenizer recipe's pieces end to end on a tiny recipe: the LPIPS-style perceptual loss is
// selected from the YAML and trains (a non-zero perceptual term, gradients into the tokenizer), and
// <run>/best/ keeps the tokenizer of the highest held-out PSNR.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { trainTokenizer } from "../../src/train/tokenizer.js";
import { MetricsLog } from "../../src/train/metrics-log.js";
import { Tokenizer } from "../../src/models/tokenizer/tokenizer.js";
import { ParamStore } from "../../src/engine/params.js";
import { ConfigError } from "../../src/engine/errors.js";
import { smallClassifierSpecs, type SmallClassifierConfig } from "../../src/models/perceptual/small-classifier.js";
import { writeClassifierFile } from "../../src/eval/classifier.js";
import { loadPerceptual } from "../../src/train/tokenizer-recipe.js";
import { lossOfficial } from "../../src/models/tokenizer/loss-config.js";
import { parseTokenizerRecipe } from "../../src/train/tokenizer-recipe.js";
import type { BestRecord } from "../../src/train/best-checkpoint.js";
import { recorder, tempDir, tinyTokenizerDoc } from "./helpers.js";

const session = { threads: 1 };
const net16: SmallClassifierConfig = { arch: "residual", inChannels: 1, numClasses: 10, width: 8, numStages: 2, imageSize: 16, mean: [0.5], std: [0.5] };

function perceptualFile(): string {
  const path = join(tempDir("perc"), "net.safetensors");
  writeClassifierFile(path, ParamStore.init(smallClassifierSpecs(net16), 2).values, net16, { train_fit: "pad" });
  return path;
}

test("train-tokenizer: perceptual_loss small_classifier_lpips from the recipe adds a non-zero, changing perceptual term", async () => {
  const out = tempDir("tok-lpips");
  const rec = recorder();
  const doc = tinyTokenizerDoc(["training.max_train_steps=6", "losses.discriminator_start=1000", "losses.perceptual_loss=small_classifier_lpips",
    "losses.perceptual_weight=0.5", `experiment.perceptual_checkpoint=${perceptualFile()}`]);
  assert.equal(parseTokenizerRecipe(doc).losses.perceptualLoss, "small_classifier_lpips");
  const result = await trainTokenizer(doc, { out, session, progress: false, onStep: rec.onStep });
  assert.equal(result.finished, true);
  const p = [...rec.steps.values()].map((m) => m.perceptual_loss!);
  assert.ok(p.every((v) => Number.isFinite(v) && v > 0), `perceptual terms ${p}`);
  assert.ok(new Set(p.map((v) => v.toFixed(6))).size > 1, "the term changes as the tokenizer trains");
  // The weight is applied: the same run at weight 0 logs a zero term.
  const zero = recorder();
  await trainTokenizer(tinyTokenizerDoc(["training.max_train_steps=1", "losses.discriminator_start=1000", "losses.perceptual_loss=small_classifier_lpips", "losses.perceptual_weight=0"]),
    { out: tempDir("tok-lpips-0"), session, progress: false, onStep: zero.onStep });
  assert.equal(zero.steps.get(1)!.perceptual_loss, 0);
});

test("loadPerceptual: the LPIPS-style loss gets the file's network under the perceptual scope; unknown names are ConfigErrors", () => {
  const w = loadPerceptual({ ...lossOfficial, perceptualLoss: "small_classifier_lpips" }, perceptualFile());
  assert.equal(w.net.name, "small_classifier_lpips");
  assert.ok(w.params.keys().every((k) => k.startsWith("perceptual_loss.model.")));
  assert.throws(() => parseTokenizerRecipe(tinyTokenizerDoc(["losses.perceptual_loss=lpips"])), ConfigError);
});

test("train-tokenizer: best/ holds the tokenizer of the highest held-out PSNR", async () => {
  const out = tempDir("tok-best");
  await trainTokenizer(tinyTokenizerDoc(["training.max_train_steps=12", "losses.discriminator_start=1000", "experiment.eval_every=4"]), { out, session, progress: false });
  const evals = new MetricsLog(join(out, "metrics.jsonl")).read().filter((r) => r.eval_psnr !== undefined);
  assert.equal(evals.length, 3);
  const best = JSON.parse(readFileSync(join(out, "best", "best.json"), "utf8")) as BestRecord;
  const max = Math.max(...evals.map((r) => r.eval_psnr!));
  assert.deepEqual([best.key, best.mode, best.value], ["eval_psnr", "max", max]);
  assert.equal(best.step, evals.find((r) => r.eval_psnr === max)!.step);
  assert.ok(existsSync(join(out, "best", "tokenizer.safetensors")));
  const tok = await Tokenizer.load(join(out, "best", "tokenizer.safetensors"));
  assert.equal(tok.config.numChannels, 1);
  await tok.dispose();
});
