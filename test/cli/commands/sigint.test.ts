// Ctrl-C during `maskbit train-tokenizer`: the first SIGINT finishes the step, writes a checkpoint
// and prints how to resume (exit 130); the printed command continues the run. A second SIGINT exits at once.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MetricsLog } from "../../../src/train/metrics-log.js";
import { CONFIGS, TINY_TOKENIZER, tempDir } from "../../train/helpers.js";

const ROOT = join(import.meta.dirname, "../../..");
const CLI = [process.execPath, "--import", "tsx", join(ROOT, "src/cli/run.ts")] as const;

/** Starts the CLI, sends `signals` SIGINTs once the metrics log reaches `atStep`, returns exit code and stderr. */
async function interrupt(args: readonly string[], metrics: string, atStep: number, signals: number): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(CLI[0], [...CLI.slice(1), ...args], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => void (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const log = new MetricsLog(metrics);
  while ((log.read().at(-1)?.step ?? 0) < atStep) {
    if (child.exitCode !== null) assert.fail(`ended early (code ${child.exitCode}): ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  for (let i = 0; i < signals; i++) {
    child.kill("SIGINT");
    // Signals sent back to back coalesce: wait until the first one was handled.
    while (i + 1 < signals && !stderr.includes("interrupt received") && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
  }
  return { code: await exited, stderr };
}

test("SIGINT: finish the step, checkpoint, say how to resume (exit 130); the printed command resumes", async () => {
  const out = tempDir("sigint");
  const args = ["train-tokenizer", "--config", join(CONFIGS, "fmnist_tokenizer.yaml"), "--out", out, "--threads", "1", ...TINY_TOKENIZER, "training.max_train_steps=500"];
  const first = await interrupt(args, join(out, "metrics.jsonl"), 2, 1);
  assert.equal(first.code, 130, first.stderr);
  assert.match(first.stderr, /interrupt received; finishing the current step/);
  const resume = /resume with: (.*)/.exec(first.stderr);
  assert.ok(resume && resume[1]!.includes("--resume"), first.stderr);
  const latest = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as { step: number };
  assert.ok(latest.step >= 2, `checkpoint at step ${latest.step}`);
  assert.match(first.stderr, new RegExp(`interrupted at step ${latest.step}; checkpoint .*checkpoint-${String(latest.step).padStart(8, "0")}`));

  // The printed command continues the run (paused again with --stop-after to keep the test short).
  const resumed = spawnSync(CLI[0], [...CLI.slice(1), ...args, "--resume", "--stop-after", String(latest.step + 2)], { cwd: ROOT, encoding: "utf8" });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`resuming .* at step ${latest.step} of 500`));
  assert.match(resumed.stdout, new RegExp(`paused at step ${latest.step + 2}`));
});

test("a second SIGINT exits at once with 130 (the handler the trainers install)", async () => {
  const script = "import { interruptOnSigint } from './src/cli/interrupt.ts'; interruptOnSigint('maskbit test'); process.stderr.write('ready\\n'); setInterval(() => {}, 1000);";
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => void (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const until = async (text: string) => {
    while (!stderr.includes(text)) {
      if (child.exitCode !== null) assert.fail(`exited early: ${stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await until("ready");
  child.kill("SIGINT");
  await until("interrupt received");
  child.kill("SIGINT");
  assert.equal(await exited, 130, stderr);
  assert.match(stderr, /second interrupt, exiting now/);
});
