// The in-domain classifier used to evaluate Fashion-MNIST models, where Inception-v3 features would
// be off-domain (ImageNet, 299x299 RGB): a small classifier trained on Fashion-MNIST
// (scripts/train-classifier.ts) gives
//   - penultimate features (global average pool of the last stage, [B, D]) for a Fréchet distance,
//     "FD-FMNIST", accumulated with FeatureStats and compared with frechetDistance;
//   - predictions, for the class accuracy of class-conditional samples.
// Both come from one compiled graph per input size; images of another size than the classifier's
// are resized in the graph (bilinear, as the perceptual loss does). Images fitted otherwise than
// the classifier's training images (padded images for a classifier trained on resized ones) are
// first mapped into its fit, also in the graph (see classifier-fit.ts).
//
// File format: safetensors with the classifier's state dict, and in __metadata__ "format", "config"
// (the SmallClassifierConfig as JSON) plus training facts (test accuracy, steps, seed, ...).

import { existsSync } from "node:fs";
import { shippedModelPath } from "../node/platform.js";
import { Graph } from "../engine/graph/tensor.js";
import { HostTensor } from "../engine/host-tensor.js";
import { ParamStore } from "../engine/params.js";
import { CompiledGraph, type SessionOptions } from "../engine/runtime/session.js";
import { argMax, reduceMean } from "../engine/ops/index.js";
import { CheckpointError, ConfigError, FeedError, fmtShape } from "../engine/errors.js";
import { readSafetensors, writeSafetensors } from "../io/safetensors.js";
import { SMALL_CLASSIFIER_ARCHS, smallClassifier, smallClassifierSpecs, type SmallClassifierArch, type SmallClassifierConfig } from "../models/perceptual/small-classifier.js";
import { perceptualInput, smallClassifierPerceptual } from "../models/perceptual/perceptual-loss.js";
import { loadFashionMnist } from "../data/fashion-mnist.js";
import { subset } from "../data/dataset.js";
import { BatchLoader, type Fit } from "../data/loader.js";
import { classifierFitOf, mapToClassifierFit, type ClassifierFit } from "./classifier-fit.js";

/** The shipped Fashion-MNIST classifier (resolved from this module, so it works from src/ and dist/). */
export const DEFAULT_CLASSIFIER_PATH = shippedModelPath("classifier");

export const CLASSIFIER_FORMAT = "maskbit-small-classifier";

const CONFIG_KEYS = ["arch", "inChannels", "numClasses", "width", "numStages", "imageSize", "mean", "std"] as const;

/** Parses and validates the "config" metadata entry; unknown or missing keys are errors. */
export function parseClassifierConfig(json: string, source = "config"): SmallClassifierConfig {
  const bad = (expected: string, got: string) => new ConfigError({ op: "parseClassifierConfig", scope: source, expected, got });
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (e) {
    throw bad("a JSON object", e instanceof Error ? e.message : String(e));
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw bad("a JSON object", json.slice(0, 80));
  const rec = doc as Record<string, unknown>;
  const unknown = Object.keys(rec).filter((k) => !(CONFIG_KEYS as readonly string[]).includes(k));
  if (unknown.length) throw bad(`only the keys [${CONFIG_KEYS.join(", ")}]`, `unknown [${unknown.join(", ")}]`);
  const int = (k: string): number => {
    const v = rec[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw bad(`${k}: a positive integer`, JSON.stringify(v));
    return v;
  };
  const nums = (k: string): number[] => {
    const v = rec[k];
    if (!Array.isArray(v) || !v.every((x): x is number => typeof x === "number" && Number.isFinite(x))) throw bad(`${k}: an array of numbers`, JSON.stringify(v));
    return v;
  };
  const arch = rec.arch;
  if (arch !== undefined && !(SMALL_CLASSIFIER_ARCHS as readonly unknown[]).includes(arch)) throw bad(`arch: one of ${SMALL_CLASSIFIER_ARCHS.join(", ")} (or absent: plain)`, JSON.stringify(arch));
  const cfg: SmallClassifierConfig = {
    ...(arch === undefined ? {} : { arch: arch as SmallClassifierArch }),
    inChannels: int("inChannels"), numClasses: int("numClasses"), width: int("width"),
    numStages: int("numStages"), imageSize: int("imageSize"), mean: nums("mean"), std: nums("std"),
  };
  smallClassifierSpecs(cfg); // runs the architecture's own validation (widths, groups, sizes)
  return cfg;
}

export interface ClassifierFile {
  readonly config: SmallClassifierConfig;
  readonly params: ParamStore;
  /** Everything in __metadata__ (strings), including "config". */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Reads a classifier file and loads its weights strictly against the config it names. */
export function readClassifierFile(path: string = DEFAULT_CLASSIFIER_PATH): ClassifierFile {
  if (!existsSync(path)) {
    throw new CheckpointError({ op: "readClassifierFile", scope: path, expected: "a classifier safetensors file", got: "no such file", hint: "train one with `npm run train:classifier`" });
  }
  const { tensors, metadata } = readSafetensors(path);
  if (metadata.format !== CLASSIFIER_FORMAT || metadata.config === undefined) {
    throw new CheckpointError({ op: "readClassifierFile", scope: path, expected: `__metadata__ with format "${CLASSIFIER_FORMAT}" and a config`, got: JSON.stringify(metadata).slice(0, 200) });
  }
  const config = parseClassifierConfig(metadata.config, `${path}: __metadata__.config`);
  return { config, params: ParamStore.loadStrict(smallClassifierSpecs(config), tensors, path), metadata };
}

/** Writes weights plus metadata; `facts` are stored as strings next to "format" and "config". */
export function writeClassifierFile(path: string, params: ReadonlyMap<string, HostTensor>, config: SmallClassifierConfig, facts: Readonly<Record<string, string | number>> = {}): void {
  const metadata: Record<string, string> = { format: CLASSIFIER_FORMAT, config: JSON.stringify(config) };
  for (const [k, v] of Object.entries(facts)) {
    if (k in metadata) throw new ConfigError({ op: "writeClassifierFile", expected: "facts other than format and config", got: k });
    metadata[k] = String(v);
  }
  const keys = smallClassifierSpecs(config).map((s) => s.key);
  const state = new Map(keys.map((k) => {
    const v = params.get(k);
    if (!v) throw new CheckpointError({ op: "writeClassifierFile", scope: k, expected: "a value for every parameter", got: "missing" });
    return [k, v] as const;
  }));
  writeSafetensors(path, state, metadata);
}

export interface ClassifierOutputs {
  /** float32 [B, D]: penultimate (pooled last-stage) features. */
  readonly features: HostTensor<Float32Array>;
  /** float32 [B, numClasses] */
  readonly logits: HostTensor<Float32Array>;
  /** int64 [B]: argmax class. */
  readonly predictions: HostTensor<BigInt64Array>;
}

export interface ClassifierOptions {
  readonly session?: SessionOptions;
  /** Images per ORT run; larger inputs are split (bounds activation memory). Default 500. */
  readonly batchSize?: number;
  /** How the images given to run() were fitted to their size; default: as the classifier was trained (no mapping). */
  readonly imageFit?: Fit;
  /** Overrides the training fit read from the file's metadata (for files that do not record it). */
  readonly trainFit?: Fit;
}

export class InDomainClassifier {
  private readonly compiled = new Map<string, Promise<CompiledGraph>>();
  private readonly batchSize: number;
  /** How the classifier's training images were fitted (from its metadata, or the trainFit option). */
  readonly fit: ClassifierFit;
  /** How the images given to run() are fitted; they are mapped to `fit` in the graph when it differs. */
  readonly imageFit: Fit;

  constructor(readonly config: SmallClassifierConfig, readonly params: ParamStore, readonly metadata: Readonly<Record<string, string>> = {}, private readonly opts: ClassifierOptions = {}) {
    this.batchSize = opts.batchSize ?? 500;
    if (!(Number.isInteger(this.batchSize) && this.batchSize > 0)) throw new ConfigError({ op: "InDomainClassifier", expected: "batchSize a positive integer", got: `${this.batchSize}` });
    const recorded = classifierFitOf(metadata);
    this.fit = opts.trainFit ? { ...recorded, trainFit: opts.trainFit } : recorded;
    this.imageFit = opts.imageFit ?? this.fit.trainFit;
  }

  /** The shipped classifier by default. */
  static load(path: string = DEFAULT_CLASSIFIER_PATH, opts: ClassifierOptions = {}): InDomainClassifier {
    const file = readClassifierFile(path);
    return new InDomainClassifier(file.config, file.params, file.metadata, opts);
  }

  /** Length of a feature vector (channels of the last stage). */
  get featureDim(): number {
    return this.config.width * 2 ** (this.config.numStages - 1);
  }

  /** images: float32 [B, C, H, W] in [0, 1] (C = the config's channels; any static H, W). */
  async run(images: HostTensor): Promise<ClassifierOutputs> {
    const [b, c, h, w] = images.shape;
    if (images.dtype !== "float32" || images.shape.length !== 4 || c !== this.config.inChannels) {
      throw new FeedError({ op: "InDomainClassifier.run", expected: `float32 images [B, ${this.config.inChannels}, H, W] in [0, 1]`, got: `${images.dtype}${fmtShape(images.shape)}` });
    }
    const k = this.config.numClasses, d = this.featureDim, per = c * h! * w!;
    const out = {
      features: new HostTensor("float32", [b!, d], new Float32Array(b! * d)),
      logits: new HostTensor("float32", [b!, k], new Float32Array(b! * k)),
      predictions: new HostTensor("int64", [b!], new BigInt64Array(b!)),
    };
    const graph = await this.graphFor(h!, w!);
    for (let start = 0; start < b!; start += this.batchSize) {
      const n = Math.min(this.batchSize, b! - start);
      const x = new HostTensor("float32", [n, c, h!, w!], (images.data as Float32Array).subarray(start * per, (start + n) * per));
      // Results land directly in slices of the full-size outputs (no per-chunk copy).
      await graph.run({ x }, this.params, {
        features: new HostTensor("float32", [n, d], out.features.data.subarray(start * d, (start + n) * d)),
        logits: new HostTensor("float32", [n, k], out.logits.data.subarray(start * k, (start + n) * k)),
        predictions: new HostTensor("int64", [n], out.predictions.data.subarray(start, start + n)),
      });
    }
    return out;
  }

  async dispose(): Promise<void> {
    const all = [...this.compiled.values()];
    this.compiled.clear();
    for (const c of all) await (await c).dispose();
  }

  private graphFor(h: number, w: number): Promise<CompiledGraph> {
    const key = `${h}x${w}`;
    let c = this.compiled.get(key);
    if (!c) {
      const g = new Graph();
      const x = g.input("x", "float32", ["B", this.config.inChannels, h, w]);
      const net = smallClassifierPerceptual(this.config);
      const fitted = mapToClassifierFit(x, this.imageFit, this.fit, this.config.imageSize);
      const { logits, features } = smallClassifier(perceptualInput(fitted, net), this.config);
      c = CompiledGraph.create(g, { features: reduceMean(features, [2, 3]), logits, predictions: argMax(logits, -1) }, this.opts.session);
      this.compiled.set(key, c);
    }
    return c;
  }
}

/** Fraction of predictions equal to the labels (counting only: the predictions came from the graph). */
export function classAccuracy(predictions: HostTensor, labels: HostTensor | readonly number[]): number {
  const want = Array.isArray(labels) ? labels : (labels as HostTensor).toNumbers();
  if (predictions.shape.length !== 1 || want.length !== predictions.size || want.length === 0) {
    throw new FeedError({ op: "classAccuracy", expected: `one label per prediction (${predictions.size})`, got: `${want.length} labels` });
  }
  let correct = 0;
  for (let i = 0; i < want.length; i++) if (predictions.at(i) === want[i]) correct++;
  return correct / want.length;
}

export interface EvalImages {
  /** float32 [N, 1, size, size] in [0, 1] */
  readonly images: HostTensor<Float32Array>;
  /** int64 [N] */
  readonly labels: HostTensor<BigInt64Array>;
}

/**
 * The first `count` images of a Fashion-MNIST split, fitted to `size` exactly as the training
 * loader fits them (default bilinear resize with uint8 rounding; or "pad"), so real-data features match what the
 * classifier and the tokenizer were trained on.
 */
export async function fashionMnistEvalImages(o: { readonly split: "train" | "test"; readonly count?: number; readonly size?: number; readonly dir?: string; readonly fit?: Fit }): Promise<EvalImages> {
  const full = await loadFashionMnist({ split: o.split, dir: o.dir });
  const count = Math.min(o.count ?? full.count, full.count);
  const data = count === full.count ? full : subset(full, Array.from({ length: count }, (_, i) => i));
  const loader = new BatchLoader(data, { batchSize: count, seed: 0, shuffle: false, dropLast: false, prefetch: false, size: o.size ?? 32, fit: o.fit ?? "resize" });
  const batch = await loader.next();
  return { images: batch.images, labels: batch.labels };
}
