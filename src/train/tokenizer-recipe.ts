// A Stage I training recipe (official tokenizer YAML layout): the tokenizer and discriminator
// architectures, the loss settings and the shared sections, checked against each other once.
// Also loads the frozen perceptual network the losses name.

import { ParamStore } from "../engine/params.js";
import { ConfigError } from "../engine/errors.js";
import { field, type ConfigObject } from "../config/yaml.js";
import { latentStride, parseTokenizerConfig, type TokenizerConfig } from "../models/tokenizer/config.js";
import { parseDiscriminatorConfig, type DiscriminatorConfig } from "../models/tokenizer/discriminator.js";
import { parseLossConfig, type LossConfig } from "../models/tokenizer/loss-config.js";
import { PERCEPTUAL_SCOPE } from "../models/tokenizer/losses.js";
import { resnet50Perceptual, smallClassifierPerceptual, type PerceptualNet } from "../models/perceptual/perceptual-loss.js";
import { readResNet50Weights } from "../models/perceptual/resnet50.js";
import { readClassifierFile } from "../eval/classifier.js";
import { parseCommonRecipe, rejectUnknown, type CommonRecipe } from "./recipe.js";

export interface TokenizerRecipe extends CommonRecipe {
  readonly tokenizer: TokenizerConfig;
  readonly discriminator: DiscriminatorConfig;
  readonly losses: LossConfig;
  readonly discriminatorLearningRate: number;
}

export function parseTokenizerRecipe(doc: ConfigObject): TokenizerRecipe {
  const common = parseCommonRecipe(doc, "tokenizer");
  const model = field.section(doc, "model", "");
  rejectUnknown(model, ["vq_model", "discriminator"], "model");
  const tokenizer = parseTokenizerConfig(field.section(model, "vq_model", "model"));
  const discriminator = parseDiscriminatorConfig(field.section(model, "discriminator", "model"));
  const losses = parseLossConfig(field.section(doc, "losses", ""));
  const bad = (scope: string, expected: string, got: unknown, hint?: string) =>
    new ConfigError({ op: "tokenizer recipe", scope, expected, got: String(got), hint });
  if (discriminator.numChannels !== tokenizer.numChannels) {
    throw bad("model.discriminator.num_channels", `model.vq_model.num_channels = ${tokenizer.numChannels}`, discriminator.numChannels);
  }
  if (tokenizer.numChannels !== 1 && tokenizer.numChannels !== 3) throw bad("model.vq_model.num_channels", "1 (grey) or 3 (RGB)", tokenizer.numChannels);
  const stride = latentStride(tokenizer);
  if (common.dataset.resolution % stride !== 0) {
    throw bad("dataset.preprocessing.resolution", `a multiple of the tokenizer stride ${stride}`, common.dataset.resolution);
  }
  if (losses.perceptualWeight > 0 && !common.experiment.perceptualCheckpoint) {
    throw bad("experiment.perceptual_checkpoint", `a weights file for the "${losses.perceptualLoss}" perceptual network`, "nothing",
      "set losses.perceptual_weight=0 to train without a perceptual loss");
  }
  return { ...common, tokenizer, discriminator, losses, discriminatorLearningRate: common.discriminatorLearningRate ?? common.learningRate };
}

export interface PerceptualWeights {
  readonly net: PerceptualNet;
  /** Keyed under the loss graphs' perceptual scope. */
  readonly params: ParamStore;
}

/**
 * The frozen perceptual network and its weights, re-keyed under the loss graphs' perceptual scope:
 * torchvision ResNet-50 (safetensors or torch .pth), or the small classifier (either loss on it) in
 * the format scripts/train-classifier.ts writes (config in its metadata).
 */
export function loadPerceptual(losses: LossConfig, path: string): PerceptualWeights {
  const prefix = `${PERCEPTUAL_SCOPE}.`;
  if (losses.perceptualLoss === "resnet50") return { net: resnet50Perceptual, params: readResNet50Weights(path, prefix) };
  const file = readClassifierFile(path);
  return { net: smallClassifierPerceptual(file.config, losses.perceptualLoss), params: new ParamStore(file.params.keys().map((k) => [prefix + k, file.params.get(k)!])) };
}
