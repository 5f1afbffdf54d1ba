// Generator evaluation (spec 4.1, in-domain variant): N samples per class, sample i drawing all its
// randomness from (seed, i) alone (sample-seeds.ts), so a shard (a contiguous block of batches) draws
// exactly the samples the unsharded run would, whatever the shard count or batch size. The sums behind FD-FMNIST (classifier features of samples vs a
// reference split), class accuracy (classifier predictions vs requested labels), the in-domain IS
// (classifier logits) and, with Inception weights, gFID and IS are accumulated into EvalSums.

import type { ImageDataset } from "../data/dataset.js";
import { subset } from "../data/dataset.js";
import { BatchLoader, type Fit } from "../data/loader.js";
import type { HostTensor } from "../engine/host-tensor.js";
import type { ParamSource, SessionOptions } from "../engine/runtime/session.js";
import { ConfigError } from "../engine/errors.js";
import type { SamplingDefaults } from "../models/generator/config.js";
import type { Generator } from "../models/generator/generator.js";
import type { Tokenizer } from "../models/tokenizer/tokenizer.js";
import type { ClassifierOutputs, InDomainClassifier } from "./classifier.js";
import { labelColumn, labelRows, perClassAccuracy, sampleQuality, type SampleQuality } from "./sample-quality.js";
import { FeatureStats } from "./feature-stats.js";
import { InceptionExtractor } from "./inception.js";
import { GENERATION_IS } from "./inception-score.js";
import { EvalSums, type EvalSettings } from "./eval-sums.js";
import { frechetOfStats, inceptionScoreOfLogits, toRgb } from "./eval-scores.js";
import { shardBatchRange, shardRange, WHOLE, type Shard } from "./shard.js";
import { perSampleRandom } from "./sample-seeds.js";

export interface GeneratorEvalOptions {
  readonly generator: Generator;
  readonly tokenizer: Tokenizer;
  readonly classifier: InDomainClassifier;
  readonly inception?: ParamSource;
  readonly perClass: number;
  readonly seed: number;
  readonly batchSize: number;
  readonly sampling?: Partial<SamplingDefaults>;
  /** Real images for the reference statistics, fitted like the generator's training images. */
  readonly reference: ImageDataset;
  readonly referenceLimit?: number;
  readonly fit: Fit;
  readonly shard?: Shard;
  readonly settings?: EvalSettings;
  readonly onBatch?: (done: number, total: number) => void;
  /** Each generated batch, clamped to [0, 1], with the global index of its first sample (e.g. for --save-npz). */
  readonly onSamples?: (images: HostTensor, firstIndex: number) => void | Promise<void>;
  readonly session?: SessionOptions;
}

export async function runGeneratorEval(o: GeneratorEvalOptions): Promise<EvalSums> {
  const op = "runGeneratorEval";
  const classes = o.generator.config.numClasses;
  if (classes > o.classifier.config.numClasses) {
    throw new ConfigError({ op, expected: `a generator with at most the classifier's ${o.classifier.config.numClasses} classes`, got: `${classes} classes` });
  }
  if (!(o.perClass >= 1 && classes * o.perClass >= 2)) throw new ConfigError({ op, scope: "--per-class", expected: "at least 2 samples in all", got: `${o.perClass} per class` });
  const shard = o.shard ?? WHOLE;
  // Classes interleaved (0, 1, .., C-1, 0, ..): every batch and every IS split of 5000 covers the
  // classes evenly, as a random-label run would, where class blocks would cap a split's IS.
  const labels = Array.from({ length: classes * o.perClass }, (_, i) => i % classes);
  // Shards take whole global batches (batch k = samples kB..(k+1)B-1), so with one --batch every
  // shard count runs the same batches, bit for bit; the samples themselves depend on neither.
  const mine = shardRange(Math.ceil(labels.length / o.batchSize), shard);
  const batches = mine.end - mine.start;
  const refTotal = Math.min(o.referenceLimit ?? o.reference.count, o.reference.count);
  if (refTotal < 2) throw new ConfigError({ op, scope: "--reference-limit", expected: "at least 2 reference images", got: `${refTotal}` });
  // The reference split, too, in whole global batches, so its per-batch sums match the unsharded run's.
  const ref = shardBatchRange(refTotal, o.batchSize, shard);
  const size = o.generator.config.tokenGrid * o.tokenizer.stride;
  const channels = o.tokenizer.config.numChannels;
  if (channels !== 1 && channels !== 3) throw new ConfigError({ op, expected: "a tokenizer of 1 or 3 channels", got: `${channels}` });
  const session = o.session ?? {};
  const sums = new EvalSums("generator", shard, { samples: labels.length, reference_images: refTotal, batch: o.batchSize, ...o.settings });
  const d = o.classifier.featureDim;
  sums.stats.set("fd_ref", FeatureStats.empty(d, session));
  sums.stats.set("fd_gen", FeatureStats.empty(d, session));
  let inception: InceptionExtractor | undefined;
  try {
    if (o.inception) {
      inception = await InceptionExtractor.create(o.inception, { dtype: "float32", height: size, width: size, input: "unit", outputs: ["pool2048", "logitsUnbiased"] }, session);
      sums.stats.set("fid_ref", FeatureStats.empty(2048, session));
      sums.stats.set("fid_gen", FeatureStats.empty(2048, session));
    }
    const refBatches = Math.ceil((ref.end - ref.start) / o.batchSize);
    const steps = refBatches + batches;
    o.onBatch?.(0, steps);
    // Reference statistics: this shard's block of the reference split.
    const refImages = subset(o.reference, Array.from({ length: ref.end - ref.start }, (_, i) => ref.start + i));
    const loader = new BatchLoader(refImages, { batchSize: o.batchSize, seed: 0, shuffle: false, dropLast: false, prefetch: false, size, fit: o.fit, channels });
    for (let b = 0; b < refBatches; b++) {
      const batch = await loader.next(), real = batch.images;
      const r = await o.classifier.run(real);
      await sums.statsOf("fd_ref").add(r.features);
      addReference(sums, r, batch.labels, classes);
      if (inception) await sums.statsOf("fid_ref").add((await inception.run(toRgb(real))).pool2048!);
      o.onBatch?.(b + 1, steps);
    }
    const { tokenGrid, groups } = o.generator.config;
    for (let k = 0; k < batches; k++) {
      const first = (mine.start + k) * o.batchSize, last = Math.min(first + o.batchSize, labels.length);
      const want = labels.slice(first, last);
      const random = perSampleRandom(o.seed, want.map((_, i) => first + i), tokenGrid * tokenGrid, groups);
      const out = await o.generator.sample({ ...o.sampling, labels: want, random, tokenizer: o.tokenizer, clamp: true });
      await o.onSamples?.(out.images!, first);
      await addGenerated(sums, o.classifier, inception, out.images!, want, classes);
      o.onBatch?.(refBatches + k + 1, steps);
    }
    return sums;
  } finally {
    await inception?.dispose();
  }
}

async function addGenerated(sums: EvalSums, classifier: InDomainClassifier, inception: InceptionExtractor | undefined, images: HostTensor, labels: readonly number[], classes: number): Promise<void> {
  const c = await classifier.run(images);
  await sums.statsOf("fd_gen").add(c.features);
  sums.appendLogits("classifier", c.logits);
  sums.appendLogits(GEN_FEATURES, c.features);
  sums.appendLogits(GEN_LABELS, labelRows(labels));
  const hits = new Float64Array(classes), seen = new Float64Array(classes);
  labels.forEach((l, i) => {
    seen[l]!++;
    if (c.predictions.at(i) === l) hits[l]!++;
  });
  sums.addSum("class_hits", hits);
  sums.addSum("class_count", seen);
  if (inception) {
    const f = await inception.run(toRgb(images));
    await sums.statsOf("fid_gen").add(f.pool2048!);
    sums.appendLogits("inception", f.logitsUnbiased!);
  }
}

// Feature rows and labels kept for precision / recall and per-class FD (concatenated in shard
// order like the logits); the classifier's hits on the real reference images are its ceiling.
const REF_FEATURES = "ref_features", REF_LABELS = "ref_labels", GEN_FEATURES = "gen_features", GEN_LABELS = "gen_labels";

function addReference(sums: EvalSums, c: ClassifierOutputs, labels: HostTensor, classes: number): void {
  sums.appendLogits(REF_FEATURES, c.features);
  sums.appendLogits(REF_LABELS, labelRows(labels.toNumbers()));
  const acc = perClassAccuracy(c.predictions.toNumbers(), labels.toNumbers(), classes);
  sums.addSum("ref_class_hits", acc.hits);
  sums.addSum("ref_class_count", acc.count);
}

export interface GeneratorEvalReport {
  readonly kind: "generator";
  readonly samples: number;
  readonly reference_images: number;
  /** Fréchet distance of classifier features, samples vs the reference split ("FD-FMNIST"). */
  readonly fd_fmnist: number;
  /** Fraction of samples the classifier assigns to the requested class. */
  readonly class_accuracy: number;
  readonly per_class_accuracy: Readonly<Record<string, number>>;
  /** The classifier's own accuracy on the real reference images per class: the ceiling for per_class_accuracy. */
  readonly classifier_per_class_accuracy: Readonly<Record<string, number>> | null;
  /** FD of each class's samples vs the reference images of that class (100 samples per class in 128-d is a
   *  rank-deficient covariance: the values are for comparisons at equal N, larger than the pooled FD). */
  readonly per_class_fd: Readonly<Record<string, number | null>> | null;
  /** k-NN precision / recall (Kynkäänniemi et al. 2019) of the samples vs as many reference images. */
  readonly precision: number | null;
  readonly recall: number | null;
  readonly precision_recall_k: number | null;
  /** Precision / recall of reference block [0, N) vs [N, 2N): the real data's own values at this N. */
  readonly real_precision: number | null;
  readonly real_recall: number | null;
  /** IS from the in-domain classifier's softmax (splits of 5000, as the ADM suite). */
  readonly is_fmnist: { readonly mean: number; readonly std: number };
  /** Inception gFID / IS; null without Inception weights. */
  readonly gfid: number | null;
  readonly inception_score: { readonly mean: number; readonly std: number } | null;
  readonly settings: EvalSettings;
}

/** Scores merged sums; class names come from the settings' "class_names" when recorded. */
export async function scoreGeneratorEval(sums: EvalSums, session: SessionOptions = {}): Promise<GeneratorEvalReport> {
  const names = sums.settings.class_names;
  const classNames = Array.isArray(names) ? (names as readonly string[]) : undefined;
  const hits = sums.sum("class_hits"), seen = sums.sum("class_count");
  const samples = seen.reduce((s, v) => s + v, 0);
  const perClass: Record<string, number> = {};
  seen.forEach((n, c) => { perClass[classNames?.[c] ?? String(c)] = hits[c]! / n; });
  const hasInception = sums.stats.has("fid_gen");
  const named = <T>(values: ArrayLike<T>): Record<string, T> => Object.fromEntries(Array.from(values, (v, c) => [classNames?.[c] ?? String(c), v]));
  const ceiling = sums.sums.has("ref_class_hits") ? named(sums.sum("ref_class_hits").map((h, c) => h / sums.sum("ref_class_count")[c]!)) : null;
  // Shards written before these rows were recorded lack them: those fields are null.
  const rows = [REF_FEATURES, REF_LABELS, GEN_FEATURES, GEN_LABELS].map((k) => sums.logits.get(k));
  let quality: SampleQuality | null = null;
  if (rows.every((r) => r !== undefined)) {
    const [rf, rl, gf, gl] = rows as HostTensor<Float32Array>[];
    quality = await sampleQuality({ features: rf!, labels: labelColumn(rl!) }, { features: gf!, labels: labelColumn(gl!) }, seen.length, { session });
  }
  return {
    kind: "generator",
    samples,
    reference_images: sums.statsOf("fd_ref").count,
    fd_fmnist: await frechetOfStats(sums.statsOf("fd_ref"), sums.statsOf("fd_gen"), session),
    class_accuracy: hits.reduce((s, v) => s + v, 0) / samples,
    per_class_accuracy: perClass,
    classifier_per_class_accuracy: ceiling,
    per_class_fd: quality ? named(quality.per_class_fd) : null,
    precision: quality?.precision_recall.precision ?? null,
    recall: quality?.precision_recall.recall ?? null,
    precision_recall_k: quality?.precision_recall.k ?? null,
    real_precision: quality?.real_precision_recall?.precision ?? null,
    real_recall: quality?.real_precision_recall?.recall ?? null,
    is_fmnist: await inceptionScoreOfLogits(sums.logits.get("classifier")!, GENERATION_IS, session),
    gfid: hasInception ? await frechetOfStats(sums.statsOf("fid_ref"), sums.statsOf("fid_gen"), session) : null,
    inception_score: hasInception ? await inceptionScoreOfLogits(sums.logits.get("inception")!, GENERATION_IS, session) : null,
    settings: sums.settings,
  };
}
