// `maskbit train-generator`: Stage II training on a frozen tokenizer (see train/generator.ts).

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "../command.js";
import { ConfigError } from "../../engine/errors.js";
import { fmtTime, progressBar } from "../../node/progress.js";
import { EXIT } from "../errors.js";
import { interruptOnSigint, resumeCommand } from "../interrupt.js";
import { trainGenerator } from "../../train/generator.js";
import { TRAIN_OPTIONS_HELP, parseTrainArgs, recipeDocument } from "./train-args.js";

export const trainGeneratorCommand: Command = {
  summary: "Train a MaskBit generator (masked bit modeling) on a frozen tokenizer from a recipe YAML.",
  usage: [
    "maskbit train-generator --config configs/fmnist_generator.yaml --tokenizer runs/tok/tokenizer.safetensors --out runs/gen [--resume] [key.path=value ...]",
    "",
    "  --tokenizer <file>   the frozen tokenizer (default: experiment.vqgan_checkpoint of the recipe)",
    ...TRAIN_OPTIONS_HELP,
    "",
    "writes <out>/generator.safetensors (EMA weights, config in metadata) at every checkpoint and at the end",
  ].join("\n"),
  async run(argv) {
    const args = parseTrainArgs(argv, true);
    const tokenizer = args.tokenizer ?? (args.resume ? storedTokenizer(args.out) : undefined);
    const doc = recipeDocument(args);
    const interrupt = interruptOnSigint("maskbit train-generator");
    let result;
    try {
      result = await trainGenerator(doc, {
        progress: progressBar(),
        out: args.out, resume: args.resume, session: args.session, signal: interrupt.signal,
        ...(tokenizer ? { tokenizer } : {}), ...(args.stopAfter !== undefined ? { stopAfter: args.stopAfter } : {}),
      });
    } finally {
      interrupt.release();
    }
    if (result.interrupted) {
      console.error(`interrupted at step ${result.step}; checkpoint ${result.lastCheckpoint}\nresume with: ${resumeCommand("train-generator", argv)}`);
      return EXIT.interrupted;
    }
    const state = result.finished ? "finished" : "paused";
    console.log(`${state} at step ${result.step} after ${fmtTime(result.seconds)}; model: ${result.modelPath ?? "(none)"}`);
    return 0;
  },
};

/** On --resume the run's stored recipe names the tokenizer it was started with. */
function storedTokenizer(out: string): string | undefined {
  const path = join(out, "recipe.json");
  if (!existsSync(path)) return undefined;
  let recipe: { experiment?: { vqgan_checkpoint?: unknown } };
  try {
    recipe = JSON.parse(readFileSync(path, "utf8")) as typeof recipe;
  } catch (e) {
    throw new ConfigError({ op: "train-generator --resume", scope: path, expected: "the run's recipe as JSON", got: (e as Error).message, hint: "pass --tokenizer <file> explicitly" });
  }
  const file = recipe.experiment?.vqgan_checkpoint;
  return typeof file === "string" && file ? file : undefined;
}
