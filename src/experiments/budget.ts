// Experiment sizes. "smoke" runs in seconds (tests check the structure of its outputs, never its
// numbers); "small" is what docs/experiments.md reports (it fits a shared 2-core CPU); "medium"
// triples the tokenizer steps and adds a seed; "full" is the configs' own budget (configs/roadmap/*.yaml,
// configs/fmnist_generator.yaml), for a machine with time to spare.

import { ConfigError } from "../engine/errors.js";

export type BudgetName = "smoke" | "small" | "medium" | "full";

export interface Budget {
  readonly name: BudgetName;
  /** Tokenizer steps as a fraction of each config's max_train_steps (the roadmap's step 5 trains 2x). */
  readonly tokenizerStepFactor: number;
  /** Tokenizer batch size (null: the config's). */
  readonly tokenizerBatch: number | null;
  /** Training images used (first N of the train split). */
  readonly trainExamples: number;
  /** Test images for reconstruction metrics and the bit analyses. */
  readonly evalImages: number;
  readonly generatorSteps: number;
  readonly generatorBatch: number;
  /** Generated samples per class for gFD and class accuracy. */
  readonly samplesPerClass: number;
  readonly defaultSeeds: number;
  /** Shrink every network to the narrowest width (32) and the generator to 1 layer: smoke only. */
  readonly tinyModels: boolean;
}

export const BUDGETS: Readonly<Record<BudgetName, Budget>> = {
  smoke: {
    name: "smoke", tokenizerStepFactor: 0.001, tokenizerBatch: 2, trainExamples: 64, evalImages: 8,
    generatorSteps: 2, generatorBatch: 4, samplesPerClass: 1, defaultSeeds: 1, tinyModels: true,
  },
  small: {
    name: "small", tokenizerStepFactor: 0.02, tokenizerBatch: 8, trainExamples: 60_000, evalImages: 200,
    generatorSteps: 60, generatorBatch: 32, samplesPerClass: 10, defaultSeeds: 1, tinyModels: false,
  },
  medium: {
    name: "medium", tokenizerStepFactor: 0.06, tokenizerBatch: 8, trainExamples: 60_000, evalImages: 500,
    generatorSteps: 150, generatorBatch: 32, samplesPerClass: 20, defaultSeeds: 2, tinyModels: false,
  },
  full: {
    name: "full", tokenizerStepFactor: 1, tokenizerBatch: null, trainExamples: 60_000, evalImages: 10_000,
    generatorSteps: 3000, generatorBatch: 64, samplesPerClass: 100, defaultSeeds: 3, tinyModels: false,
  },
};

export function budgetNamed(name: string): Budget {
  if (name !== "smoke" && name !== "small" && name !== "medium" && name !== "full") {
    throw new ConfigError({ op: "experiment", scope: "--budget", expected: '"smoke", "small", "medium" or "full"', got: JSON.stringify(name) });
  }
  return BUDGETS[name];
}
