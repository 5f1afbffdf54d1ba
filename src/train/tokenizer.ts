// `train-tokenizer` as a function: recipe -> data -> trainer -> loop. The CLI and the tests call
// this; everything it wires is defined elsewhere.

import type { SessionOptions } from "../engine/runtime/session.js";
import type { ConfigObject } from "../config/yaml.js";
import { openTrainingImages } from "./images.js";
import { prepareRunDirectory, runTraining, type LoopOptions, type LoopResult } from "./loop.js";
import { loadPerceptual, parseTokenizerRecipe } from "./tokenizer-recipe.js";
import { TokenizerTrainer } from "./tokenizer-trainer.js";
import { ConfigError } from "../engine/errors.js";
import { DEFAULT_CLASSIFIER_PATH, InDomainClassifier } from "../eval/classifier.js";

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

export interface TokenizerRunOptions extends TrainRunOptions {
  /** In-domain classifier for the periodic rFD (training.eval_samples > 0); default: the shipped one. */
  readonly classifier?: string;
}

/** Trains (or resumes) a tokenizer from a recipe document (YAML already loaded, overrides applied). */
export async function trainTokenizer(doc: ConfigObject, o: TokenizerRunOptions): Promise<LoopResult> {
  const recipe = parseTokenizerRecipe(doc);
  prepareRunDirectory(o.out, o.resume ?? false);
  const channels = recipe.tokenizer.numChannels as 1 | 3;
  const images = await openTrainingImages(recipe.dataset, channels, recipe.experiment.maxTrainExamples);
  const perceptual = recipe.losses.perceptualWeight > 0 ? loadPerceptual(recipe.losses, recipe.experiment.perceptualCheckpoint!) : undefined;
  const evalImages = recipe.training.evalSamples;
  if (evalImages > 0) {
    if (recipe.dataset.kind !== "fashion-mnist") throw new ConfigError({ op: "train-tokenizer", scope: "training.eval_samples", expected: "0, or a Fashion-MNIST recipe (rFD is measured by the in-domain Fashion-MNIST classifier)", got: `${evalImages} on ${recipe.dataset.kind}` });
    if (evalImages < 2 || evalImages > images.heldOut.count) throw new ConfigError({ op: "train-tokenizer", scope: "training.eval_samples", expected: `0, or 2 to ${images.heldOut.count} held-out images (a covariance needs 2)`, got: String(evalImages) });
  }
  const classifier = evalImages > 0 ? InDomainClassifier.load(o.classifier ?? DEFAULT_CLASSIFIER_PATH, { imageFit: recipe.dataset.fit, ...(o.session ? { session: o.session } : {}) }) : undefined;
  const trainer = await TokenizerTrainer.create(recipe, images, {
    ...(o.session ? { session: o.session } : {}), ...(perceptual ? { perceptual } : {}),
    ...(classifier ? { reconstructionFd: { classifier, images: evalImages } } : {}),
  }).catch(async (e: unknown) => {
    await classifier?.dispose();
    throw e;
  });
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
