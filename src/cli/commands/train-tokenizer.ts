// `maskbit train-tokenizer`: Stage I training from a recipe (see train/tokenizer.ts).

import type { Command } from "../command.js";
import { fmtTime, progressBar } from "../../node/progress.js";
import { EXIT } from "../errors.js";
import { interruptOnSigint, resumeCommand } from "../interrupt.js";
import { trainTokenizer } from "../../train/tokenizer.js";
import { TRAIN_OPTIONS_HELP, parseTrainArgs, recipeDocument } from "./train-args.js";

export const trainTokenizerCommand: Command = {
  summary: "Train a MaskBit tokenizer (LFQ autoencoder + discriminator) from a recipe YAML.",
  usage: [
    "maskbit train-tokenizer --config configs/fmnist_tokenizer.yaml --out runs/tok [--resume] [--data <dir>] [key.path=value ...]",
    "",
    ...TRAIN_OPTIONS_HELP,
    "",
    "writes <out>/tokenizer.safetensors (EMA weights, config in metadata) at every checkpoint and at the end",
  ].join("\n"),
  async run(argv) {
    const args = parseTrainArgs(argv, false);
    const doc = recipeDocument(args);
    const interrupt = interruptOnSigint("maskbit train-tokenizer");
    let result;
    try {
      result = await trainTokenizer(doc, {
        progress: progressBar(),
        out: args.out, resume: args.resume, session: args.session, signal: interrupt.signal, ...(args.stopAfter !== undefined ? { stopAfter: args.stopAfter } : {}),
      });
    } finally {
      interrupt.release();
    }
    if (result.interrupted) {
      console.error(`interrupted at step ${result.step}; checkpoint ${result.lastCheckpoint}\nresume with: ${resumeCommand("train-tokenizer", argv)}`);
      return EXIT.interrupted;
    }
    const state = result.finished ? "finished" : "paused";
    console.log(`${state} at step ${result.step} after ${fmtTime(result.seconds)}; model: ${result.modelPath ?? "(none)"}`);
    return 0;
  },
};
