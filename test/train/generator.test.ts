// Stage II training end to end on real Fashion-MNIST images tokenized by a (random, frozen)
// tokenizer: the masked-bit-modeling loss falls, the tokenized dataset is cached, a run "killed"
// between checkpoints resumes to exactly the uninterrupted run's losses, and the exported
// generator loads and samples.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { trainGenerator } from "../../src/train/generator.js";
import { loadLatestRunState } from "../../src/train/checkpoint.js";
import { Tokenizer } from "../../src/models/tokenizer/tokenizer.js";
import { Generator } from "../../src/models/generator/generator.js";
import { parseTokenizerRecipe } from "../../src/train/tokenizer-recipe.js";
import { SimulatedCrash, mean, recorder, tempDir, tinyGeneratorDoc, tinyTokenizerDoc } from "./helpers.js";

const session = { threads: 1 };

/** A frozen tokenizer with the tiny recipe's architecture (random weights: its ids still depend on the image). */
function tokenizerFile(): string {
  const path = join(tempDir("gen-tok"), "tokenizer.safetensors");
  Tokenizer.random(parseTokenizerRecipe(tinyTokenizerDoc()).tokenizer, 7).save(path);
  return path;
}

test("train-generator: the masked bit modeling loss falls within 40 steps; the model exports and samples", async () => {
  const tokenizer = tokenizerFile();
  const out = tempDir("gen-falls");
  const rec = recorder();
  const result = await trainGenerator(tinyGeneratorDoc(["training.max_train_steps=40", "experiment.generate_every=40"]), { out, tokenizer, session, progress: false, onStep: rec.onStep });
  assert.equal(result.finished, true);
  const losses = [...rec.steps.values()].map((m) => m.loss);
  const first = mean(losses.slice(0, 5)), last = mean(losses.slice(-5));
  assert.ok(last < first - 0.3, `loss should fall: first 5 ${first.toFixed(4)}, last 5 ${last.toFixed(4)}`);
  for (const f of ["generator.safetensors", "tokens.safetensors", "metrics.jsonl", "loss-generator.png", "samples/step-00000040.png"]) assert.ok(existsSync(join(out, f)), `missing ${f}`);
  const gen = await Generator.load(join(out, "generator.safetensors"));
  assert.equal(gen.config.numClasses, 10);
  const s = await gen.sample({ labels: [0, 9], seed: 1 });
  assert.deepEqual(s.ids.shape, [2, 8, 8]);
  await gen.dispose();
});

test("train-generator: a run killed between checkpoints resumes to exactly the uninterrupted losses", async () => {
  const tokenizer = tokenizerFile();
  // 256 images / batch 16 = 16 steps per epoch: 20 steps cross an epoch boundary after the resume.
  const doc = tinyGeneratorDoc(["training.max_train_steps=20", "experiment.save_every=6"]);
  const full = recorder();
  await trainGenerator(doc, { out: tempDir("gen-full"), tokenizer, session, progress: false, onStep: full.onStep });
  const out = tempDir("gen-killed");
  await assert.rejects(trainGenerator(doc, { out, tokenizer, session, progress: false, onStep: recorder(9).onStep }), SimulatedCrash);
  assert.equal(loadLatestRunState(out)!.step, 6);
  const second = recorder();
  // The tokenizer path is in the stored recipe: no --tokenizer needed to resume.
  const resumedDoc = { ...doc, experiment: { ...(doc.experiment as object), vqgan_checkpoint: tokenizer } };
  const result = await trainGenerator(resumedDoc, { out, session, progress: false, resume: true, onStep: second.onStep });
  assert.equal(result.resumedFrom, 6);
  assert.deepEqual([...second.steps.keys()], Array.from({ length: 14 }, (_, i) => i + 7));
  for (const [step, m] of second.steps) {
    for (const key of ["loss", "masked_token_loss", "correct_tokens", "grad_norm"]) {
      assert.equal(m[key], full.steps.get(step)![key], `step ${step} ${key}`);
    }
  }
});
