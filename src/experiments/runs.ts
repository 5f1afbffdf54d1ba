// The training and evaluation runs the experiments are made of: recipe documents derived from the
// shipped configs at a budget, one tokenizer or generator training per directory (reused when the
// directory already holds a finished run, so an interrupted experiment picks up where it stopped),
// and the evaluations on held-out Fashion-MNIST (or another dataset's) test images.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadYaml, type ConfigObject, type ConfigValue } from "../config/yaml.js";
import type { ImageDataset } from "../data/dataset.js";
import type { Fit } from "../data/loader.js";
import type { SessionOptions } from "../engine/runtime/session.js";
import { DEFAULT_CLASSIFIER_PATH, type InDomainClassifier } from "../eval/classifier.js";
import { runTokenizerEval, scoreTokenizerEval, type TokenizerEvalReport } from "../eval/run-tokenizer-eval.js";
import { runGeneratorEval, scoreGeneratorEval, type GeneratorEvalReport } from "../eval/run-generator-eval.js";
import { Tokenizer } from "../models/tokenizer/tokenizer.js";
import { Generator } from "../models/generator/generator.js";
import { trainTokenizer } from "../train/tokenizer.js";
import { trainGenerator } from "../train/generator.js";
import type { Budget } from "./budget.js";
import { writeAtomic } from "./results.js";

export const CONFIG_DIR = fileURLToPath(new URL("../../configs/", import.meta.url));
export const SESSION: SessionOptions = { threads: 1 };

/** Where images come from: Fashion-MNIST (default) or a class-folder tree with train/ and test/. */
export interface DataChoice {
  readonly name: string;
  /** dataset.params for the recipes. */
  readonly params: ConfigObject;
  readonly fit: Fit;
  readonly test: () => Promise<ImageDataset>;
  readonly numClasses: number;
  /** Whether the shipped Fashion-MNIST classifier is in-domain (its class flips mean something). */
  readonly classifierInDomain: boolean;
}

const clone = <T extends ConfigValue>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const section = (doc: ConfigObject, ...path: string[]): ConfigObject => {
  let s = doc;
  for (const p of path) s = s[p] as ConfigObject;
  return s;
};

/** A tokenizer recipe from a config file, at the budget: steps scaled, data and widths set. */
export function tokenizerDoc(file: string, budget: Budget, data: DataChoice, edit?: (doc: ConfigObject) => void): ConfigObject {
  const doc = clone(loadYaml(join(CONFIG_DIR, file)));
  const t = section(doc, "training"), l = section(doc, "losses"), e = section(doc, "experiment");
  const scale = (v: ConfigValue | undefined, min: number) => Math.max(min, Math.round(Number(v) * budget.tokenizerStepFactor));
  const steps = scale(t.max_train_steps, 1);
  t.max_train_steps = steps;
  l.discriminator_start = Math.min(steps - 1, scale(l.discriminator_start, 0));
  l.entropy_annealing_steps = scale(l.entropy_annealing_steps, 1);
  const sched = section(doc, "lr_scheduler", "params");
  sched.warmup_steps = Math.min(scale(sched.warmup_steps, 0), Math.max(0, steps - 1));
  if (budget.tokenizerBatch !== null) t.per_gpu_batch_size = budget.tokenizerBatch;
  for (const k of ["save_every", "eval_every", "generate_every"]) e[k] = steps;
  e.max_train_examples = budget.trainExamples;
  e.log_every = Math.max(1, Math.round(steps / 50));
  if (typeof e.perceptual_checkpoint === "string" && e.perceptual_checkpoint) e.perceptual_checkpoint = DEFAULT_CLASSIFIER_PATH;
  section(doc, "dataset").params = clone(data.params);
  section(doc, "dataset", "preprocessing").fit = data.fit;
  if (budget.tinyModels) {
    const v = section(doc, "model", "vq_model"), d = section(doc, "model", "discriminator");
    v.hidden_channels = 32;
    v.channel_mult = [1, 1, 1];
    d.hidden_channels = 32;
  }
  edit?.(doc);
  return doc;
}

/** A generator recipe from configs/fmnist_generator.yaml for a tokenizer file, architecture and N. */
export function generatorDoc(budget: Budget, data: DataChoice, o: { arch: "lfq_bert" | "bert"; groups: number; seed: number }): ConfigObject {
  const doc = clone(loadYaml(join(CONFIG_DIR, "fmnist_generator.yaml")));
  const model = section(doc, "model");
  delete model.vq_model; // taken from the tokenizer file
  const m = section(doc, "model", "mlm_model"), t = section(doc, "training"), e = section(doc, "experiment");
  m.model_cls = o.arch;
  m.codebook_splits = o.groups;
  m.nclass = data.numClasses;
  t.max_train_steps = budget.generatorSteps;
  t.per_gpu_batch_size = budget.generatorBatch;
  t.seed = o.seed;
  section(doc, "lr_scheduler", "params").warmup_steps = Math.min(200, Math.round(budget.generatorSteps / 10));
  for (const k of ["save_every", "generate_every"]) e[k] = budget.generatorSteps;
  e.max_train_examples = Math.min(budget.trainExamples, 10_000);
  e.log_every = Math.max(1, Math.round(budget.generatorSteps / 50));
  section(doc, "dataset").params = { ...clone(data.params), augmented_copies: 0 };
  section(doc, "dataset", "preprocessing").fit = data.fit;
  // The periodic in-training evaluation (training.eval_samples) scores against the Fashion-MNIST
  // test split and refuses any other dataset; the experiment evaluates every generator itself.
  if (data.params.dataset !== "fashion-mnist") t.eval_samples = 0;
  if (budget.tinyModels) Object.assign(m, { hidden_dim: 32, depth: 1, heads: 2, mlp_dim: 64, num_steps: 2 });
  return doc;
}

interface Finished { readonly model: string; readonly seconds: number; readonly steps: number }

const DONE = "experiment-run.json";

function finished(out: string): Finished | null {
  const p = join(out, DONE);
  return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as Finished) : null;
}

/** Trains a tokenizer into `out` unless a finished run is there. */
export async function tokenizerRun(doc: ConfigObject, out: string, log: (s: string) => void): Promise<Finished> {
  const done = finished(out);
  if (done) return done;
  log(`training tokenizer ${out} (${String(section(doc, "training").max_train_steps)} steps)`);
  const r = await trainTokenizer(doc, { out, session: SESSION, progress: false, log: () => {} });
  const f = { model: r.modelPath!, seconds: r.seconds, steps: r.step };
  writeAtomic(join(out, DONE), JSON.stringify(f));
  return f;
}

export async function generatorRun(doc: ConfigObject, tokenizer: string, out: string, log: (s: string) => void): Promise<Finished> {
  const done = finished(out);
  if (done) return done;
  log(`training generator ${out} (${String(section(doc, "training").max_train_steps)} steps)`);
  const r = await trainGenerator(doc, { out, tokenizer, session: SESSION, progress: false, log: () => {} });
  const f = { model: r.modelPath!, seconds: r.seconds, steps: r.step };
  writeAtomic(join(out, DONE), JSON.stringify(f));
  return f;
}

export async function evalTokenizer(model: string, classifier: InDomainClassifier, data: DataChoice, budget: Budget): Promise<TokenizerEvalReport> {
  const tokenizer = await Tokenizer.load(model, { session: SESSION });
  try {
    const sums = await runTokenizerEval({
      tokenizer, classifier, data: await data.test(), size: 32, fit: data.fit, batchSize: Math.min(100, budget.evalImages), limit: budget.evalImages, session: SESSION,
    });
    return await scoreTokenizerEval(sums, SESSION);
  } finally {
    await tokenizer.dispose();
  }
}

export async function evalGenerator(model: string, tokenizerPath: string, classifier: InDomainClassifier, data: DataChoice, budget: Budget, seed: number): Promise<GeneratorEvalReport> {
  const tokenizer = await Tokenizer.load(tokenizerPath, { session: SESSION });
  const generator = await Generator.load(model, { session: SESSION });
  try {
    const sums = await runGeneratorEval({
      generator, tokenizer, classifier, perClass: budget.samplesPerClass, seed, batchSize: Math.min(100, budget.samplesPerClass * data.numClasses),
      reference: await data.test(), referenceLimit: budget.evalImages, fit: data.fit, session: SESSION,
    });
    return await scoreGeneratorEval(sums, SESSION);
  } finally {
    await Promise.all([tokenizer.dispose(), generator.dispose()]);
  }
}
