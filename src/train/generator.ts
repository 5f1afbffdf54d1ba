// `train-generator` as a function: frozen tokenizer -> recipe -> tokenized dataset -> trainer ->
// loop. The tokenizer path is recorded in the stored recipe (experiment.vqgan_checkpoint), so a
// resumed run finds it again and is refused if it points elsewhere.

import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { CheckpointError, ConfigError } from "../engine/errors.js";
import { readSafetensors } from "../io/safetensors.js";
import type { ConfigObject } from "../config/yaml.js";
import { Tokenizer } from "../models/tokenizer/tokenizer.js";
import { openTrainingImages } from "./images.js";
import { prepareRunDirectory, runTraining, type LoopResult } from "./loop.js";
import { parseGeneratorRecipe } from "./generator-recipe.js";
import { GeneratorTrainer } from "./generator-trainer.js";
import { SampleEvaluator } from "./sample-evaluator.js";
import { DEFAULT_CLASSIFIER_PATH, InDomainClassifier } from "../eval/classifier.js";
import { fileSha256, tokenizeDataset } from "./token-dataset.js";
import { loopOptions, type TrainRunOptions } from "./tokenizer.js";

export interface GeneratorRunOptions extends TrainRunOptions {
  /** The frozen tokenizer (.safetensors with its config); default: the recipe's experiment.vqgan_checkpoint. */
  readonly tokenizer?: string;
  /** In-domain classifier for the periodic evaluation (training.eval_samples > 0); default: the shipped one. */
  readonly classifier?: string;
}

export async function trainGenerator(docIn: ConfigObject, o: GeneratorRunOptions): Promise<LoopResult> {
  const experiment = (docIn.experiment ?? {}) as ConfigObject;
  const given = o.tokenizer ?? (typeof experiment.vqgan_checkpoint === "string" && experiment.vqgan_checkpoint ? experiment.vqgan_checkpoint : undefined);
  if (!given) {
    throw new ConfigError({ op: "train-generator", expected: "a tokenizer: --tokenizer <file.safetensors> or experiment.vqgan_checkpoint", got: "neither", hint: "train one with `maskbit train-tokenizer`" });
  }
  const path = tokenizerFile(given);
  const doc: ConfigObject = { ...docIn, experiment: { ...experiment, vqgan_checkpoint: path } };
  const log = o.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const tokenizer = await Tokenizer.load(path, o.session ? { session: o.session } : {});
  try {
    const recipe = parseGeneratorRecipe(doc, tokenizer.config, path);
    prepareRunDirectory(o.out, o.resume ?? false);
    const images = await openTrainingImages(recipe.dataset, tokenizer.config.numChannels as 1 | 3, recipe.experiment.maxTrainExamples);
    let lastReport = 0;
    const tokenizerSha256 = fileSha256(path);
    const tokens = await tokenizeDataset(tokenizer, images, recipe.dataset, {
      tokenizerSha256, augmentedCopies: recipe.dataset.augmentedCopies, seed: recipe.training.seed, cachePath: join(o.out, "tokens.safetensors"),
      onProgress: (done, total) => {
        if (o.progress !== false && (Date.now() - lastReport > 5000 || done === total)) {
          lastReport = Date.now();
          log(`tokenizing the training images: ${done}/${total}`);
        }
      },
    });
    const t = recipe.training;
    const evaluator = t.evalSamples > 0
      ? await SampleEvaluator.create({
        classifier: InDomainClassifier.load(o.classifier ?? DEFAULT_CLASSIFIER_PATH, { imageFit: recipe.dataset.fit, ...(o.session ? { session: o.session } : {}) }),
        samples: t.evalSamples, classes: recipe.generator.numClasses, seed: t.seed, batchSize: Math.min(64, t.evalSamples),
        dataset: recipe.dataset, channels: tokenizer.config.numChannels as 1 | 3, ...(o.session ? { session: o.session } : {}),
      })
      : undefined;
    const trainer = new GeneratorTrainer(recipe, tokenizer, tokens, images.classNames, { tokenizerSha256, ...(evaluator ? { evaluator } : {}), ...(o.session ? { session: o.session } : {}) });
    try {
      return await runTraining(trainer, loopOptions(doc, recipe.experiment, o));
    } finally {
      await trainer.dispose();
    }
  } finally {
    await tokenizer.dispose();
  }
}

/** A tokenizer run directory stands for the model it exported; a training checkpoint is refused. */
function tokenizerFile(given: string): string {
  const path = existsSync(given) && statSync(given).isDirectory() ? join(given, "tokenizer.safetensors") : given;
  if (path.endsWith(".safetensors") && existsSync(path) && readSafetensors(path).metadata.format === "maskbit-run") {
    throw new CheckpointError({ op: "train-generator", scope: path, expected: "an exported tokenizer (config in its metadata)", got: "a training checkpoint",
      hint: "pass the run's tokenizer.safetensors (EMA weights), or the run directory" });
  }
  return path;
}
