// The shared training loop with a stand-in trainer (a running sum as "weights"): cadence of logs,
// samples and checkpoints, pausing and resuming, recipe checks on resume, divergence.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { HostTensor } from "../../src/engine/host-tensor.js";
import type { ConfigObject } from "../../src/config/yaml.js";
import { DivergedError, runTraining, type LoopOptions, type StepMetrics, type Trainer, type TrainerSnapshot } from "../../src/train/loop.js";
import { MetricsLog } from "../../src/train/metrics-log.js";
import type { ExperimentSettings } from "../../src/train/recipe.js";
import { tempDir } from "./helpers.js";

class SumTrainer implements Trainer<{ calls: number }> {
  readonly label = "sum";
  readonly plots = [{ file: "loss.png", title: "loss", keys: ["loss"] }];
  sum = 0;
  calls = 0;
  samples: string[] = [];
  constructor(readonly totalSteps: number, private readonly lossAt: (step: number, sum: number) => number = (s, sum) => 1 / (1 + s + sum)) {}
  async step(i: number): Promise<StepMetrics> {
    this.calls++;
    this.sum += i;
    return { loss: this.lossAt(i, this.sum), sum: this.sum };
  }
  snapshot(): TrainerSnapshot<{ calls: number }> {
    return { tensors: new Map([["w", new Map([["sum", HostTensor.f32([this.sum], [])]])]]), meta: { calls: this.calls } };
  }
  async restore(_step: number, s: TrainerSnapshot<{ calls: number }>): Promise<void> {
    this.sum = s.tensors.get("w")!.get("sum")!.at(0);
  }
  async writeSamples(path: string): Promise<void> { this.samples.push(path.split("/").pop()!); }
  async exportModel(dir: string): Promise<string> { return join(dir, "model.safetensors"); }
  async dispose(): Promise<void> {}
}

const experiment: ExperimentSettings = { name: "t", saveEvery: 4, evalEvery: 4, generateEvery: 5, logEvery: 2, keepCheckpoints: 2 };
const recipe: ConfigObject = { optimizer: { params: { learning_rate: 0.1 } }, training: { max_train_steps: 10 } };
const opts = (out: string, extra: Partial<LoopOptions> = {}): LoopOptions => ({ out, recipe, experiment, resume: false, progress: false, log: () => {}, ...extra });

test("loop: logs every log_every steps and the last, samples every generate_every, keeps the newest checkpoints", async () => {
  const out = tempDir("loop-cadence");
  const t = new SumTrainer(10);
  const r = await runTraining(t, opts(out));
  assert.deepEqual([r.step, r.finished, r.resumedFrom], [10, true, null]);
  assert.deepEqual(new MetricsLog(join(out, "metrics.jsonl")).read().map((m) => m.step), [2, 4, 6, 8, 10]);
  assert.deepEqual(t.samples, ["step-00000005.png", "step-00000010.png"]);
  assert.deepEqual(readdirSync(out).filter((f) => f.startsWith("checkpoint-")).sort(), ["checkpoint-00000008.safetensors", "checkpoint-00000010.safetensors"]);
  assert.ok(existsSync(join(out, "loss.png")));
});

test("loop: --stop-after pauses with a checkpoint; resuming continues exactly and allows a new learning rate only", async () => {
  const out = tempDir("loop-pause");
  const first = await runTraining(new SumTrainer(10), opts(out, { stopAfter: 3 }));
  assert.deepEqual([first.step, first.finished], [3, false]);
  const notes: string[] = [];
  const changed: ConfigObject = { ...recipe, optimizer: { params: { learning_rate: 0.05 } } };
  const t = new SumTrainer(10);
  const second = await runTraining(t, opts(out, { resume: true, recipe: changed, log: (l) => notes.push(l) }));
  assert.deepEqual([second.step, second.finished, second.resumedFrom], [10, true, 3]);
  assert.equal(t.sum, 45); // 0 + 1 + ... + 9: nothing repeated, nothing skipped
  assert.ok(notes.some((n) => /optimizer\.params\.learning_rate: 0\.1 -> 0\.05/.test(n)), notes.join("\n"));
  const other: ConfigObject = { ...recipe, training: { max_train_steps: 20 } };
  await assert.rejects(runTraining(new SumTrainer(20), opts(out, { resume: true, recipe: other })), /training\.max_train_steps: 10 -> 20/);
});

test("loop: a non-finite metric stops the run before anything of that step is saved", async () => {
  const out = tempDir("loop-nan");
  const t = new SumTrainer(10, (s) => (s === 5 ? NaN : 1));
  const err = await runTraining(t, opts(out)).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof DivergedError);
  assert.equal(err.step, 6);
  assert.match(err.lastCheckpoint ?? "", /checkpoint-00000004\.safetensors$/);
  assert.deepEqual(new MetricsLog(join(out, "metrics.jsonl")).read().map((m) => m.step), [2, 4]);
  const early = await runTraining(new SumTrainer(10, () => Infinity), opts(tempDir("loop-inf"))).then(() => null, (e: unknown) => e);
  assert.ok(early instanceof DivergedError && early.lastCheckpoint === null && /no checkpoint was written/.test(early.message));
});
