// Every subcommand as a plain table, lazily loaded so `maskbit generate` does not import the trainers.

import type { Command } from "../command.js";

export type CommandLoader = () => Promise<Command>;

export const COMMANDS: Readonly<Record<string, CommandLoader>> = {
  golden: async () => (await import("./golden.js")).golden,
  tokenize: async () => (await import("./tokenize.js")).tokenize,
  reconstruct: async () => (await import("./reconstruct.js")).reconstruct,
  "train-tokenizer": async () => (await import("./train-tokenizer.js")).trainTokenizerCommand,
  "train-generator": async () => (await import("./train-generator.js")).trainGeneratorCommand,
  generate: async () => (await import("./generate.js")).generate,
  "eval-tokenizer": async () => (await import("./eval-tokenizer.js")).evalTokenizer,
  "eval-generator": async () => (await import("./eval-generator.js")).evalGenerator,
  "eval-merge": async () => (await import("./eval-merge.js")).evalMerge,
  "export-onnx": async () => (await import("./export-onnx.js")).exportOnnxCommand,
  inpaint: async () => (await import("./inpaint.js")).inpaint,
  outpaint: async () => (await import("./outpaint.js")).outpaint,
  bits: async () => (await import("./bits.js")).bits,
  web: async () => (await import("./web.js")).web,
  convert: async () => (await import("./convert.js")).convert,
  sweep: async () => (await import("./sweep.js")).sweep,
  experiment: async () => (await import("./experiment.js")).experiment,
};
