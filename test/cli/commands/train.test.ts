// The trainer commands as a user runs them: a real `maskbit train-tokenizer` process is SIGKILLed
// mid-run, `--resume` finishes it, and its logged losses equal an uninterrupted run's; then
// `maskbit train-generator` trains on the exported tokenizer. Also the usage errors.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { MetricsLog } from "../../../src/train/metrics-log.js";
import { trainTokenizer } from "../../../src/train/tokenizer.js";
import { Generator } from "../../../src/models/generator/generator.js";
import { CONFIGS, TINY_TOKENIZER, recorder, tempDir, tinyTokenizerDoc } from "../../train/helpers.js";

const ROOT = join(import.meta.dirname, "../../..");
const CLI = [process.execPath, "--import", "tsx", join(ROOT, "src/cli/run.ts")] as const;
const RUN = ["training.max_train_steps=14", "experiment.save_every=3", "losses.discriminator_start=5"];

function cli(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(CLI[0], [...CLI.slice(1), ...args], { cwd: ROOT, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the command and SIGKILLs it once its metrics log reaches `atStep` (past a checkpoint). */
async function runAndKill(args: readonly string[], metrics: string, atStep: number): Promise<void> {
  const child = spawn(CLI[0], [...CLI.slice(1), ...args], { cwd: ROOT, stdio: "ignore" });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const log = new MetricsLog(metrics);
  for (;;) {
    const done = log.read().at(-1)?.step ?? 0;
    if (done >= atStep) break;
    if (child.exitCode !== null) assert.fail(`the run ended (code ${child.exitCode}) before step ${atStep}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  assert.equal(await exited, null, "killed by a signal");
}

test("maskbit train-tokenizer: SIGKILL mid-run, --resume reproduces the uninterrupted losses; train-generator uses the result", async () => {
  const reference = recorder();
  await trainTokenizer(tinyTokenizerDoc(RUN), { out: tempDir("cli-ref"), session: { threads: 1 }, progress: false, onStep: reference.onStep });

  const out = tempDir("cli-tok");
  const args = ["train-tokenizer", "--config", join(CONFIGS, "fmnist_tokenizer.yaml"), "--out", out, "--threads", "1", ...TINY_TOKENIZER, ...RUN];
  await runAndKill(args, join(out, "metrics.jsonl"), 7);
  assert.ok(existsSync(join(out, "latest.json")), "a checkpoint was written before the kill");
  const resumed = cli([...args, "--resume"]);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, /finished at step 14/);
  assert.match(resumed.stderr, /resuming .* at step (6|9|12) of 14/);
  const logged = new MetricsLog(join(out, "metrics.jsonl")).read();
  assert.deepEqual(logged.map((r) => r.step), Array.from({ length: 14 }, (_, i) => i + 1));
  for (const r of logged) {
    for (const key of ["loss", "reconstruction_loss", "discriminator_loss"]) assert.equal(r[key], reference.steps.get(r.step)![key], `step ${r.step} ${key}`);
  }

  const gen = tempDir("cli-gen");
  const g = cli(["train-generator", "--config", join(CONFIGS, "fmnist_generator.yaml"), "--tokenizer", join(out, "tokenizer.safetensors"), "--out", gen, "--threads", "1",
    "model.vq_model.num_resolutions=2", "dataset.preprocessing.resolution=16", "dataset.preprocessing.fit=resize", "model.mlm_model.hidden_dim=64", "model.mlm_model.depth=1",
    "model.mlm_model.heads=2", "model.mlm_model.mlp_dim=64", "model.mlm_model.num_steps=2", "training.per_gpu_batch_size=8", "experiment.max_train_examples=64",
    "training.max_train_steps=3", "training.num_generated_images=1", "training.eval_samples=0"]);
  assert.equal(g.status, 0, g.stderr);
  assert.match(g.stdout, /finished at step 3/);
  await (await Generator.load(join(gen, "generator.safetensors"))).dispose();
});

test("maskbit train-tokenizer / train-generator: usage and argument errors", () => {
  const help = cli(["train-tokenizer", "--help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--config <yaml>/);
  assert.match(cli(["train-generator", "--help"]).stdout, /--tokenizer <file>/);
  const missing = cli(["train-tokenizer", "--out", tempDir("cli-bad")]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /expected --config/);
  const unknown = cli(["train-tokenizer", "--config", join(CONFIGS, "fmnist_tokenizer.yaml"), "--out", tempDir("cli-bad"), "--bogus"]);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /bogus/);
  const typo = cli(["train-tokenizer", "--config", join(CONFIGS, "fmnist_tokenizer.yaml"), "--out", tempDir("cli-bad"), "training.max_train_stepz=3"]);
  assert.equal(typo.status, 3);
  assert.match(typo.stderr, /max_train_stepz/);
  const noTokenizer = cli(["train-generator", "--config", join(CONFIGS, "fmnist_generator.yaml"), "--out", tempDir("cli-bad")]);
  assert.equal(noTokenizer.status, 3);
  assert.match(noTokenizer.stderr, /--tokenizer/);
});
