// Tiny recipes for trainer tests: the shipped Fashion-MNIST recipes shrunk by overrides (16x16
// images, one level less, small batches, a few hundred training images), so a step takes a
// fraction of a second on 2 cores while everything else (data, losses, schedules) is real.

import { after } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyOverrides, loadYaml, type ConfigObject } from "../../src/config/yaml.js";
import type { StepMetrics } from "../../src/train/loop.js";

export const CONFIGS = join(import.meta.dirname, "../../configs");

/** Command-line overrides that shrink configs/fmnist_tokenizer.yaml (also usable with the CLI). */
export const TINY_TOKENIZER = [
  "model.vq_model.channel_mult=[1,1]", "model.vq_model.num_resolutions=2",
  "model.discriminator.num_stages=1",
  "dataset.preprocessing.resolution=16", "dataset.preprocessing.fit=resize",
  "training.per_gpu_batch_size=4", "experiment.max_train_examples=256",
  "lr_scheduler.params.warmup_steps=0", "optimizer.params.learning_rate=2e-3",
  "experiment.log_every=1", "experiment.save_every=1000", "experiment.eval_every=1000", "experiment.generate_every=1000",
  "training.num_generated_images=4",
] as const;

export function tinyTokenizerDoc(extra: readonly string[] = []): ConfigObject {
  return applyOverrides(loadYaml(join(CONFIGS, "fmnist_tokenizer.yaml")), [...TINY_TOKENIZER, ...extra]);
}

export function tinyGeneratorDoc(extra: readonly string[] = []): ConfigObject {
  return applyOverrides(loadYaml(join(CONFIGS, "fmnist_generator.yaml")), [
    "model.vq_model.num_resolutions=2", "dataset.preprocessing.resolution=16", "dataset.preprocessing.fit=resize",
    "model.mlm_model.hidden_dim=64", "model.mlm_model.depth=2", "model.mlm_model.heads=2", "model.mlm_model.mlp_dim=128",
    "model.mlm_model.num_steps=4",
    "training.per_gpu_batch_size=16", "experiment.max_train_examples=256",
    "lr_scheduler.params.warmup_steps=0", "optimizer.params.learning_rate=2e-3",
    "experiment.log_every=1", "experiment.save_every=1000", "experiment.generate_every=1000",
    "training.num_generated_images=2", "training.eval_samples=0",
    ...extra,
  ]);
}

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under the OS temp dir, removed when the test file ends. */
export function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `maskbit-${name}-`));
  made.push(dir);
  return dir;
}

/** Records every step's metrics, optionally "crashing" (throwing) once `crashAt` steps are done. */
export function recorder(crashAt?: number): { steps: Map<number, StepMetrics>; onStep: (done: number, m: StepMetrics) => void } {
  const steps = new Map<number, StepMetrics>();
  return {
    steps,
    onStep(done, m) {
      steps.set(done, m);
      if (done === crashAt) throw new SimulatedCrash(done);
    },
  };
}

export class SimulatedCrash extends Error {
  constructor(readonly step: number) {
    super(`simulated crash after step ${step}`);
  }
}

export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
