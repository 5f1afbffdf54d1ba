// Stage I training end to end on real Fashion-MNIST images (tiny recipe): the loss falls, a run
// "killed" between checkpoints resumes to exactly the uninterrupted run's losses (through the
// discriminator start, LeCam EMAs and the autoencoder session switch), and a diverging run stops
// with a clear error while its last checkpoint and exported model stay loadable.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { trainTokenizer } from "../../src/train/tokenizer.js";
import { DivergedError } from "../../src/train/loop.js";
import { loadLatestRunState } from "../../src/train/checkpoint.js";
import { MetricsLog } from "../../src/train/metrics-log.js";
import { Tokenizer } from "../../src/models/tokenizer/tokenizer.js";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { SimulatedCrash, mean, recorder, tempDir, tinyTokenizerDoc } from "./helpers.js";

const session = { threads: 1 };

test("train-tokenizer: the reconstruction loss falls within 30 steps on real Fashion-MNIST", async () => {
  const out = tempDir("tok-falls");
  const rec = recorder();
  const result = await trainTokenizer(tinyTokenizerDoc(["training.max_train_steps=30", "losses.discriminator_start=1000"]), { out, session, progress: false, onStep: rec.onStep });
  assert.equal(result.finished, true);
  const r = [...rec.steps.values()].map((m) => m.reconstruction_loss!);
  const first = mean(r.slice(0, 5)), last = mean(r.slice(-5));
  assert.ok(last < 0.6 * first, `reconstruction loss should fall: first 5 ${first.toFixed(4)}, last 5 ${last.toFixed(4)}`);
  // The run directory has everything a user looks at.
  for (const f of ["tokenizer.safetensors", "metrics.jsonl", "recipe.json", "loss-autoencoder.png", "eval.png", "samples/step-00000030.png"]) {
    assert.ok(existsSync(join(out, f)), `missing ${f}`);
  }
  assert.equal(new MetricsLog(join(out, "metrics.jsonl")).read().length, 30);
  const tok = await Tokenizer.load(join(out, "tokenizer.safetensors"));
  assert.equal(tok.config.numChannels, 1);
  const rt = await tok.reconstruct(new HostTensor("float32", [1, 1, 16, 16], new Float32Array(256).fill(0.5)));
  assert.deepEqual(rt.images.shape, [1, 1, 16, 16]);
  await tok.dispose();
});

test("train-tokenizer: a run killed between checkpoints resumes to exactly the uninterrupted losses", async () => {
  // 9 steps; the discriminator (and the GAN term, LeCam) starts at step 4; checkpoints every 3.
  const doc = tinyTokenizerDoc(["training.max_train_steps=9", "losses.discriminator_start=4", "experiment.save_every=3"]);
  const full = recorder();
  await trainTokenizer(doc, { out: tempDir("tok-full"), session, progress: false, onStep: full.onStep });

  const out = tempDir("tok-killed");
  const first = recorder(7); // dies after step 7: steps 7 (and the record of it) are lost, checkpoint 6 remains
  await assert.rejects(trainTokenizer(doc, { out, session, progress: false, onStep: first.onStep }), SimulatedCrash);
  assert.equal(loadLatestRunState(out)!.step, 6);
  const second = recorder();
  const result = await trainTokenizer(doc, { out, session, progress: false, resume: true, onStep: second.onStep });
  assert.equal(result.resumedFrom, 6);
  assert.deepEqual([...second.steps.keys()], [7, 8, 9]);
  for (const [step, m] of second.steps) {
    const want = full.steps.get(step)!;
    for (const key of ["loss", "reconstruction_loss", "quantizer_loss", "gan_loss", "discriminator_loss", "lecam_loss", "grad_norm", "d_grad_norm"]) {
      assert.equal(m[key], want[key], `step ${step} ${key}: resumed ${m[key]} vs uninterrupted ${want[key]}`);
    }
  }
  // The metrics log holds each step once, with the resumed values.
  const logged = new MetricsLog(join(out, "metrics.jsonl")).read();
  assert.deepEqual(logged.map((r) => r.step), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(logged[8]!.loss, full.steps.get(9)!.loss);
  // A finished run resumes to nothing and a fresh run refuses the directory.
  assert.equal((await trainTokenizer(doc, { out, session, progress: false, resume: true })).step, 9);
  await assert.rejects(trainTokenizer(doc, { out, session, progress: false }), /--resume/);
  await assert.rejects(trainTokenizer(tinyTokenizerDoc(["training.max_train_steps=12", "losses.discriminator_start=4", "experiment.save_every=3"]), { out, session, progress: false, resume: true }),
    /training\.max_train_steps: 9 -> 12/);
});

test("train-tokenizer: a NaN loss stops the run with a clear error and keeps the last good checkpoint", async () => {
  const out = tempDir("tok-nan");
  const doc = tinyTokenizerDoc(["training.max_train_steps=20", "optimizer.params.learning_rate=1e8", "experiment.save_every=1", "losses.discriminator_start=1000"]);
  const err = await trainTokenizer(doc, { out, session, progress: false }).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof DivergedError, `expected DivergedError, got ${String(err)}`);
  assert.match(err.message, /expected finite losses/);
  assert.match(err.message, /last good checkpoint is .*checkpoint-\d+\.safetensors/);
  const saved = loadLatestRunState(out)!;
  assert.equal(saved.step, err.step - 1);
  assert.ok(err.lastCheckpoint && existsSync(err.lastCheckpoint));
  const pointer = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as { step: number };
  assert.equal(pointer.step, saved.step);
  const tok = await Tokenizer.load(join(out, "tokenizer.safetensors"));
  await tok.dispose();
});
