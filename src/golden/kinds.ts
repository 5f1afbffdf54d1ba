// The fixture kinds maskbit reproduces, each loaded only when a case of that kind runs.

import { registerRunner } from "./runners.js";

registerRunner("discriminator", async () => (await import("./discriminator.js")).runDiscriminatorCase);
registerRunner("perceptual", async () => (await import("./perceptual.js")).runPerceptualCase);
registerRunner("lfq", async () => (await import("./lfq.js")).runLfqCase);
registerRunner("tokenizer", async () => (await import("./tokenizer.js")).runTokenizerCase);
registerRunner("generator", async () => (await import("./generator.js")).runGeneratorCase);
registerRunner("sampler", async () => (await import("./sampler.js")).runSamplerCase);
registerRunner("schedules", async () => (await import("./schedules.js")).runSchedulesCase);
registerRunner("fid", async () => (await import("./frechet.js")).runFrechetCase);
registerRunner("metrics", async () => (await import("./metrics.js")).runMetricsCase);
registerRunner("inception", async () => (await import("./inception.js")).runInceptionCase);
