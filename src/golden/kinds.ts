// The fixture kinds maskbit reproduces as a plain table, each runner loaded only when a case of
// that kind runs.

import type { GoldenCase } from "../io/golden.js";
import type { Check } from "./report.js";

export type CaseRunner = (c: GoldenCase) => Promise<Check[]>;

export const RUNNERS: Readonly<Record<string, () => Promise<CaseRunner>>> = {
  discriminator: async () => (await import("./discriminator.js")).runDiscriminatorCase,
  perceptual: async () => (await import("./perceptual.js")).runPerceptualCase,
  lfq: async () => (await import("./lfq.js")).runLfqCase,
  tokenizer: async () => (await import("./tokenizer.js")).runTokenizerCase,
  generator: async () => (await import("./generator.js")).runGeneratorCase,
  sampler: async () => (await import("./sampler.js")).runSamplerCase,
  schedules: async () => (await import("./schedules.js")).runSchedulesCase,
  fid: async () => (await import("./frechet.js")).runFrechetCase,
  metrics: async () => (await import("./metrics.js")).runMetricsCase,
  inception: async () => (await import("./inception.js")).runInceptionCase,
};
