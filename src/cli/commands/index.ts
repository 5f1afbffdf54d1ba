// Every subcommand, lazily loaded so `maskbit generate` does not import the trainers.

import { registerCommand } from "../main.js";

registerCommand("golden", async () => (await import("./golden.js")).golden);
registerCommand("tokenize", async () => (await import("./tokenize.js")).tokenize);
registerCommand("reconstruct", async () => (await import("./reconstruct.js")).reconstruct);
registerCommand("train-tokenizer", async () => (await import("./train-tokenizer.js")).trainTokenizerCommand);
registerCommand("train-generator", async () => (await import("./train-generator.js")).trainGeneratorCommand);
registerCommand("generate", async () => (await import("./generate.js")).generate);
registerCommand("eval-tokenizer", async () => (await import("./eval-tokenizer.js")).evalTokenizer);
registerCommand("eval-generator", async () => (await import("./eval-generator.js")).evalGenerator);
registerCommand("eval-merge", async () => (await import("./eval-merge.js")).evalMerge);
