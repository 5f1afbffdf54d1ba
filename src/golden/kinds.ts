// The fixture kinds maskbit reproduces, each loaded only when a case of that kind runs.

import { registerRunner } from "./runners.js";

registerRunner("discriminator", async () => (await import("./discriminator.js")).runDiscriminatorCase);
registerRunner("perceptual", async () => (await import("./perceptual.js")).runPerceptualCase);
registerRunner("lfq", async () => (await import("./lfq.js")).runLfqCase);
registerRunner("tokenizer", async () => (await import("./tokenizer.js")).runTokenizerCase);
