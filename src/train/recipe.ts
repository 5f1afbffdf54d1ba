// The sections every training recipe shares, in the official YAML layout (experiment / dataset /
// optimizer / lr_scheduler / training), parsed once into typed settings. Official keys that only
// matter to the official multi-GPU webdataset setup are accepted and ignored; keys this project
// adds are marked "(maskbit)". Unknown keys are rejected, so a typo never silently does nothing.

import { ConfigError } from "../engine/errors.js";
import type { AdamWConfig } from "../engine/optim/adamw.js";
import type { CosineWithMinimumConfig } from "../engine/optim/schedule.js";
import { field, type ConfigObject, type ConfigValue } from "../config/yaml.js";
import { NO_AUGMENT, type AugmentOptions } from "../data/augment.js";
import type { Fit } from "../data/loader.js";
import type { ResampleFilter } from "../io/resample.js";

export interface ExperimentSettings {
  readonly name: string;
  readonly saveEvery: number;
  readonly evalEvery: number;
  readonly generateEvery: number;
  readonly logEvery: number;
  /** Use only the first N images of the split (official: the dataset size, informational). */
  readonly maxTrainExamples?: number;
  /** (maskbit) Checkpoints kept on disk; older ones are deleted. */
  readonly keepCheckpoints: number;
  /** Official generator key: the frozen tokenizer (a .safetensors written by train-tokenizer). */
  readonly vqganCheckpoint?: string;
  /** (maskbit) Weights of the perceptual network (safetensors or torch checkpoint). */
  readonly perceptualCheckpoint?: string;
}

export type DatasetKind = "fashion-mnist" | "image-folder";

export interface DatasetSettings {
  /** (maskbit) Where images come from; the official webdataset shards are not supported. */
  readonly kind: DatasetKind;
  /** (maskbit) Directory of IDX files or of images (default: the Debian Fashion-MNIST package's). */
  readonly dir?: string;
  readonly resolution: number;
  /** (maskbit) "pad" centres small images on a black canvas (28 -> 32), "resize" scales them. */
  readonly fit: Fit;
  readonly augment: AugmentOptions;
  /** (maskbit, generator recipes) Augmented copies tokenized in addition to the plain images. */
  readonly augmentedCopies: number;
}

export interface TrainingSettings {
  readonly batchSize: number;
  readonly seed: number;
  readonly maxTrainSteps: number;
  readonly useEma: boolean;
  /** (maskbit) Maximum EMA decay; the official EMA model uses 0.999 with a (1+s)/(10+s) warmup. */
  readonly emaDecay: number;
  readonly maxGradNorm: number;
  readonly numGeneratedImages: number;
  /** (maskbit) Samples drawn for the periodic evaluation every experiment.eval_every steps (generator: FD, class
   *  accuracy, precision / recall by the in-domain classifier, and best-checkpoint selection); 0 = none. */
  readonly evalSamples: number;
}

export interface CommonRecipe {
  readonly experiment: ExperimentSettings;
  readonly dataset: DatasetSettings;
  readonly adamw: AdamWConfig;
  readonly learningRate: number;
  /** Tokenizer recipes only (official `discriminator_learning_rate`). */
  readonly discriminatorLearningRate?: number;
  readonly warmupSteps: number;
  /** Floor of the learning-rate schedule as a fraction of the base rate: 0.1 (official cosine) unless given; 1 for "constant". */
  readonly lrMinimumRate?: number;
  readonly training: TrainingSettings;
}

const SECTIONS = ["experiment", "model", "losses", "dataset", "optimizer", "lr_scheduler", "training"];
const EXPERIMENT_KEYS = [
  "project", "name", "max_train_examples", "save_every", "eval_every", "generate_every", "log_every", "log_grad_norm_every",
  "logger", "resume", "init_checkpoint", "vqgan_checkpoint", "keep_checkpoints", "perceptual_checkpoint",
];
const DATASET_PARAM_KEYS = [
  "train_shards_path_or_url", "eval_shards_path_or_url", "shuffle_buffer_size", "num_workers_per_gpu", "pin_memory", "persistent_workers",
  "dataset", "data_dir", "augmented_copies",
];
const PREPROCESSING_KEYS = ["resolution", "use_aspect_ratio_aug", "use_random_crop", "min_scale", "interpolation", "random_flip", "fit"];
const OPTIMIZER_PARAM_KEYS = ["learning_rate", "discriminator_learning_rate", "scale_lr", "beta1", "beta2", "weight_decay", "epsilon"];
const TRAINING_KEYS = [
  "gradient_accumulation_steps", "per_gpu_batch_size", "mixed_precision", "enable_tf32", "use_ema", "seed", "max_train_steps",
  "overfit_batch", "overfit_batch_num", "num_generated_images", "max_grad_norm", "ema_decay", "eval_samples",
];

const bad = (scope: string, expected: string, got: unknown, hint?: string): ConfigError =>
  new ConfigError({ op: "recipe", scope, expected, got: typeof got === "string" ? got : JSON.stringify(got), hint });

export function rejectUnknown(section: ConfigObject, known: readonly string[], path: string): void {
  const unknown = Object.keys(section).filter((k) => !known.includes(k));
  if (unknown.length) throw bad(path, `keys among ${known.join(", ")}`, unknown.join(", "));
}

/** A positive integer field. */
function positive(obj: ConfigObject, key: string, path: string, fallback?: number): number {
  const v = field.int(obj, key, path, fallback);
  if (v < 1) throw bad(`${path}.${key}`, "a positive integer", v);
  return v;
}

function optionalString(obj: ConfigObject, key: string, path: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null || v === "") return undefined;
  return field.string(obj, key, path);
}

/** Requires a setting the official code has but this trainer only supports at one value. */
function requireValue(obj: ConfigObject, key: string, path: string, allowed: ConfigValue, why: string): void {
  const v = obj[key];
  if (v !== undefined && v !== allowed) throw bad(`${path}.${key}`, JSON.stringify(allowed), v, why);
}

function parseExperiment(s: ConfigObject): ExperimentSettings {
  const p = "experiment";
  rejectUnknown(s, EXPERIMENT_KEYS, p);
  if (optionalString(s, "init_checkpoint", p)) throw bad(`${p}.init_checkpoint`, "empty", s.init_checkpoint, "fine-tuning from weights is not supported; use --resume to continue a run");
  const maxExamples = s.max_train_examples === undefined ? undefined : positive(s, "max_train_examples", p);
  const vq = optionalString(s, "vqgan_checkpoint", p);
  const perc = optionalString(s, "perceptual_checkpoint", p);
  return {
    name: field.string(s, "name", p, "maskbit"),
    saveEvery: positive(s, "save_every", p),
    evalEvery: positive(s, "eval_every", p, s.save_every as number),
    generateEvery: positive(s, "generate_every", p),
    logEvery: positive(s, "log_every", p),
    keepCheckpoints: positive(s, "keep_checkpoints", p, 2),
    ...(maxExamples !== undefined ? { maxTrainExamples: maxExamples } : {}),
    ...(vq ? { vqganCheckpoint: vq } : {}),
    ...(perc ? { perceptualCheckpoint: perc } : {}),
  };
}

const FILTERS: readonly ResampleFilter[] = ["nearest", "bilinear", "bicubic"];

function parseDataset(s: ConfigObject): DatasetSettings {
  const params = field.section(s, "params", "dataset");
  const pre = field.section(s, "preprocessing", "dataset");
  rejectUnknown(params, DATASET_PARAM_KEYS, "dataset.params");
  rejectUnknown(pre, PREPROCESSING_KEYS, "dataset.preprocessing");
  if (params.dataset === undefined && params.train_shards_path_or_url !== undefined) {
    throw bad("dataset.params.dataset", '"fashion-mnist" or "image-folder"', "webdataset shards", "ImageNet webdataset shards are not supported; set dataset.params.dataset and data_dir");
  }
  const kind = field.string(params, "dataset", "dataset.params", "fashion-mnist");
  if (kind !== "fashion-mnist" && kind !== "image-folder") throw bad("dataset.params.dataset", '"fashion-mnist" or "image-folder"', kind);
  const p = "dataset.preprocessing";
  const interpolation = field.string(pre, "interpolation", p, "bilinear");
  if (!FILTERS.includes(interpolation as ResampleFilter)) throw bad(`${p}.interpolation`, `one of ${FILTERS.join(", ")}`, interpolation);
  const fit = field.string(pre, "fit", p, "resize");
  if (fit !== "pad" && fit !== "resize") throw bad(`${p}.fit`, '"pad" or "resize"', fit);
  const crop = field.bool(pre, "use_random_crop", p, false);
  const minScale = field.number(pre, "min_scale", p, 0.8);
  if (crop && !(minScale > 0 && minScale <= 1)) throw bad(`${p}.min_scale`, "a number in (0, 1]", minScale);
  const ratio: readonly [number, number] = field.bool(pre, "use_aspect_ratio_aug", p, false) ? [3 / 4, 4 / 3] : [1, 1];
  const flip = field.bool(pre, "random_flip", p, true);
  const augment: AugmentOptions = crop || flip
    ? { crop: crop ? { scale: [minScale, 1], ratio, filter: interpolation as ResampleFilter } : null, flipProbability: flip ? 0.5 : 0 }
    : NO_AUGMENT;
  const dir = optionalString(params, "data_dir", "dataset.params");
  const augmentedCopies = field.int(params, "augmented_copies", "dataset.params", 0);
  if (augmentedCopies < 0) throw bad("dataset.params.augmented_copies", "an integer >= 0", augmentedCopies);
  return { kind, ...(dir ? { dir } : {}), resolution: positive(pre, "resolution", p), fit, augment, augmentedCopies };
}

function parseTraining(s: ConfigObject): TrainingSettings {
  const p = "training";
  rejectUnknown(s, TRAINING_KEYS, p);
  requireValue(s, "gradient_accumulation_steps", p, 1, "gradient accumulation is not implemented");
  requireValue(s, "mixed_precision", p, "no", "training runs in float32");
  requireValue(s, "overfit_batch", p, false, "overfitting one batch is not implemented");
  const emaDecay = field.number(s, "ema_decay", p, 0.999);
  if (!(emaDecay >= 0 && emaDecay < 1)) throw bad(`${p}.ema_decay`, "a number in [0, 1)", emaDecay);
  const maxGradNorm = field.number(s, "max_grad_norm", p, 1.0);
  if (!(maxGradNorm > 0)) throw bad(`${p}.max_grad_norm`, "a number > 0", maxGradNorm);
  return {
    batchSize: positive(s, "per_gpu_batch_size", p),
    seed: field.int(s, "seed", p, 42),
    maxTrainSteps: positive(s, "max_train_steps", p),
    useEma: field.bool(s, "use_ema", p, true),
    emaDecay,
    maxGradNorm,
    numGeneratedImages: positive(s, "num_generated_images", p, 8),
    evalSamples: nonNegativeInt(s, "eval_samples", p),
  };
}

function nonNegativeInt(s: ConfigObject, key: string, p: string): number {
  const v = field.int(s, key, p, 0);
  if (v < 0) throw bad(`${p}.${key}`, "an integer >= 0", v);
  return v;
}

/** Parses the shared sections of a recipe; `model` and `losses` are left to the stage's parser. */
export function parseCommonRecipe(doc: ConfigObject, stage: "tokenizer" | "generator"): CommonRecipe {
  rejectUnknown(doc, SECTIONS, "recipe");
  const optimizer = field.section(doc, "optimizer", "");
  if (field.string(optimizer, "name", "optimizer", "adamw") !== "adamw") throw bad("optimizer.name", '"adamw"', optimizer.name);
  const op = field.section(optimizer, "params", "optimizer");
  rejectUnknown(op, OPTIMIZER_PARAM_KEYS, "optimizer.params");
  requireValue(op, "scale_lr", "optimizer.params", false, "learning rates are used as given (one process)");
  if (stage === "generator" && op.discriminator_learning_rate !== undefined) throw bad("optimizer.params.discriminator_learning_rate", "nothing in a generator recipe", op.discriminator_learning_rate);
  const learningRate = field.number(op, "learning_rate", "optimizer.params");
  const sched = field.section(doc, "lr_scheduler", "");
  rejectUnknown(sched, ["scheduler", "params"], "lr_scheduler");
  const scheduler = field.string(sched, "scheduler", "lr_scheduler");
  // "constant" (the Taming-VQGAN baseline of the roadmap, configs/roadmap/00-taming.yaml): the
  // rate stays at learning_rate after any warmup, i.e. cosine_with_minimum with a floor of 100 %.
  if (scheduler !== "cosine_with_minimum" && scheduler !== "constant") throw bad("lr_scheduler.scheduler", '"cosine_with_minimum" or "constant"', sched.scheduler);
  const sp = field.section(sched, "params", "lr_scheduler");
  rejectUnknown(sp, ["learning_rate", "warmup_steps"], "lr_scheduler.params");
  // The official files write `${optimizer.params.learning_rate}`; a number must agree with it.
  if (typeof sp.learning_rate === "number" && sp.learning_rate !== learningRate) {
    throw bad("lr_scheduler.params.learning_rate", `the optimizer's learning rate ${learningRate}`, sp.learning_rate);
  }
  const training = parseTraining(field.section(doc, "training", ""));
  const dataset = parseDataset(field.section(doc, "dataset", ""));
  if (stage === "tokenizer" && dataset.augmentedCopies !== 0) {
    throw bad("dataset.params.augmented_copies", "0 in a tokenizer recipe (it augments every batch)", dataset.augmentedCopies);
  }
  const warmupSteps = field.int(sp, "warmup_steps", "lr_scheduler.params");
  if (warmupSteps < 0) throw bad("lr_scheduler.params.warmup_steps", "an integer >= 0", warmupSteps);
  return {
    experiment: parseExperiment(field.section(doc, "experiment", "")),
    dataset,
    adamw: {
      beta1: field.number(op, "beta1", "optimizer.params"),
      beta2: field.number(op, "beta2", "optimizer.params"),
      eps: field.number(op, "epsilon", "optimizer.params", 1e-8),
      weightDecay: field.number(op, "weight_decay", "optimizer.params"),
      maxGradNorm: training.maxGradNorm,
    },
    learningRate,
    ...(stage === "tokenizer" ? { discriminatorLearningRate: field.number(op, "discriminator_learning_rate", "optimizer.params", learningRate) } : {}),
    warmupSteps,
    ...(scheduler === "constant" ? { lrMinimumRate: 1 } : {}),
    training,
  };
}

/** The official cosine_with_minimum schedule over `total` optimizer steps. */
export function lrSchedule(baseLr: number, warmup: number, total: number, minimumRate = 0.1): CosineWithMinimumConfig {
  return { baseLr, warmup, total, minimumRate };
}
