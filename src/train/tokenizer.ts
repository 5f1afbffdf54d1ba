// `train-tokenizer` as a function: recipe -> data -> trainer -> loop. The CLI and the tests call
// this; everything it wires is defined elsewhere.

import type { SessionOptions } from "../engine/runtime/session.js";
import type { ConfigObject } from "../config/yaml.js";
import { openTrainingImages } from "./images.js";
import { prepareRunDirectory, runTraining, type LoopOptions, type LoopResult } from "./loop.js";
import { loadPerceptual, parseTokenizerRecipe } from "./tokenizer-recipe.js";
import { TokenizerTrainer } from "./tokenizer-trainer.js";

export interface TrainRunOptions {
  readonly out: string;
  readonly resume?: boolean;
  readonly session?: SessionOptions;
  readonly stopAfter?: number;
  readonly progress?: LoopOptions["progress"];
  readonly onStep?: LoopOptions["onStep"];
  readonly log?: (line: string) => void;
  /** Abort to stop after the current step with a checkpoint (SIGINT in the CLI). */
  readonly signal?: AbortSignal;
}

/** Trains (or resumes) a tokenizer from a recipe document (YAML already loaded, overrides applied). */
export async function trainTokenizer(doc: ConfigObject, o: TrainRunOptions): Promise<LoopResult> {
  const recipe = parseTokenizerRecipe(doc);
  prepareRunDirectory(o.out, o.resume ?? false);
  const channels = recipe.tokenizer.numChannels as 1 | 3;
  const images = await openTrainingImages(recipe.dataset, channels, recipe.experiment.maxTrainExamples);
  const perceptual = recipe.losses.perceptualWeight > 0 ? loadPerceptual(recipe.losses, recipe.experiment.perceptualCheckpoint!) : undefined;
  const trainer = await TokenizerTrainer.create(recipe, images, { ...(o.session ? { session: o.session } : {}), ...(perceptual ? { perceptual } : {}) });
  try {
    return await runTraining(trainer, loopOptions(doc, recipe.experiment, o));
  } finally {
    await trainer.dispose();
  }
}

export function loopOptions(doc: ConfigObject, experiment: LoopOptions["experiment"], o: TrainRunOptions): LoopOptions {
  return {
    out: o.out, recipe: doc, experiment, resume: o.resume ?? false,
    ...(o.stopAfter !== undefined ? { stopAfter: o.stopAfter } : {}),
    ...(o.progress !== undefined ? { progress: o.progress } : {}),
    ...(o.onStep ? { onStep: o.onStep } : {}),
    ...(o.log ? { log: o.log } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  };
}
