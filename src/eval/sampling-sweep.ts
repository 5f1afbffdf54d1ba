// Sampling settings chosen by measurement: every setting of a grid (steps, guidance scale, the
// power-cosine ramp's scale_pow, randomize temperature) draws the same labels with the same
// per-batch seeds (common random numbers, so differences come from the settings, not the draw),
// and is scored from the in-domain classifier's outputs: FD-FMNIST, class accuracy, precision and
// recall. The real images' features are computed once for the whole sweep.
//
// Score (lower is better), stated in the result:
//   score = fd + w_accuracy (1 - class_accuracy) + w_precision (1 - precision) + w_recall (1 - recall)
// Class accuracy and recall are the two failures the FD alone hides (wrong class, low diversity).

import type { ImageDataset } from "../data/dataset.js";
import { subset } from "../data/dataset.js";
import { BatchLoader, type Fit } from "../data/loader.js";
import { HostTensor } from "../engine/host-tensor.js";
import type { SessionOptions } from "../engine/runtime/session.js";
import { ConfigError } from "../engine/errors.js";
import type { SamplingDefaults } from "../models/generator/config.js";
import type { Generator } from "../models/generator/generator.js";
import type { Tokenizer } from "../models/tokenizer/tokenizer.js";
import type { InDomainClassifier } from "./classifier.js";
import { frechetDistance } from "./frechet.js";
import { perSampleRandom } from "./sample-seeds.js";
import { DEFAULT_NEIGHBOURS, firstRows, precisionRecall } from "./precision-recall.js";
import { gaussianOfRows, perClassAccuracy, type LabelledFeatures } from "./sample-quality.js";

export type SweepSetting = Pick<SamplingDefaults, "steps" | "guidanceScale" | "scalePow" | "randomizeTemperature">;

export interface SweepGrid {
  readonly steps: readonly number[];
  readonly guidanceScale: readonly number[];
  readonly scalePow: readonly number[];
  readonly randomizeTemperature: readonly number[];
}

export interface ScoreWeights {
  readonly accuracy: number;
  readonly precision: number;
  readonly recall: number;
}

export const DEFAULT_WEIGHTS: ScoreWeights = { accuracy: 1, precision: 0, recall: 1 };

export interface SweepRow {
  readonly setting: SweepSetting;
  /** This row is the generator's stored defaults. */
  readonly is_default: boolean;
  readonly fd_fmnist: number;
  readonly class_accuracy: number;
  readonly precision: number;
  readonly recall: number;
  readonly per_class_accuracy: readonly number[];
  readonly score: number;
  readonly seconds: number;
}

export interface SweepResult {
  readonly samples: number;
  readonly per_class: number;
  readonly seed: number;
  readonly reference_images: number;
  readonly k: number;
  readonly score: string;
  readonly weights: ScoreWeights;
  readonly rows: readonly SweepRow[];
  /** Index into rows of the lowest score (ties: the first). */
  readonly best: number;
  readonly class_names: readonly string[] | null;
}

export interface SweepOptions {
  readonly generator: Generator;
  readonly tokenizer: Tokenizer;
  readonly classifier: InDomainClassifier;
  readonly reference: ImageDataset;
  readonly referenceLimit?: number;
  readonly fit: Fit;
  readonly perClass: number;
  readonly seed: number;
  readonly batchSize: number;
  /** The settings to try; the generator's defaults are added first when absent (unless withoutDefault). */
  readonly settings: readonly SweepSetting[];
  /** Do not add the stored defaults (e.g. a follow-up sweep whose baseline row was measured already). */
  readonly withoutDefault?: boolean;
  readonly weights?: ScoreWeights;
  readonly k?: number;
  readonly session?: SessionOptions;
  readonly onRow?: (row: SweepRow, index: number, total: number) => void;
}

/** Every combination of the grid's values (steps outermost). */
export function gridSettings(g: SweepGrid): SweepSetting[] {
  const out: SweepSetting[] = [];
  for (const steps of g.steps) for (const guidanceScale of g.guidanceScale) for (const scalePow of g.scalePow) for (const randomizeTemperature of g.randomizeTemperature) {
    out.push({ steps, guidanceScale, scalePow, randomizeTemperature });
  }
  if (out.length === 0) throw new ConfigError({ op: "gridSettings", expected: "at least one value for each of steps, guidance, scale-pow, temperature", got: JSON.stringify(g) });
  return out;
}

export const scoreFormula = (w: ScoreWeights): string =>
  `fd + ${w.accuracy} (1 - class_accuracy) + ${w.precision} (1 - precision) + ${w.recall} (1 - recall)`;

export function sweepScore(m: { fd_fmnist: number; class_accuracy: number; precision: number; recall: number }, w: ScoreWeights): number {
  return m.fd_fmnist + w.accuracy * (1 - m.class_accuracy) + w.precision * (1 - m.precision) + w.recall * (1 - m.recall);
}

const sameSetting = (a: SweepSetting, b: SweepSetting) =>
  a.steps === b.steps && a.guidanceScale === b.guidanceScale && a.scalePow === b.scalePow && a.randomizeTemperature === b.randomizeTemperature;

export async function runSamplingSweep(o: SweepOptions): Promise<SweepResult> {
  const op = "runSamplingSweep";
  const classes = o.generator.config.numClasses;
  const k = o.k ?? DEFAULT_NEIGHBOURS;
  const weights = o.weights ?? DEFAULT_WEIGHTS;
  const n = classes * o.perClass;
  if (!(Number.isInteger(o.perClass) && o.perClass >= 1 && n > k)) throw new ConfigError({ op, scope: "--per-class", expected: `more than k = ${k} samples in all`, got: `${o.perClass} per class` });
  const refTotal = Math.min(o.referenceLimit ?? o.reference.count, o.reference.count);
  if (refTotal < n) throw new ConfigError({ op, scope: "--reference-limit", expected: `at least as many reference images as samples (${n}) for precision / recall`, got: `${refTotal}` });
  const d = o.generator.config.sampling;
  const base: SweepSetting = { steps: d.steps, guidanceScale: d.guidanceScale, scalePow: d.scalePow, randomizeTemperature: d.randomizeTemperature };
  const settings = o.withoutDefault || o.settings.some((s) => sameSetting(s, base)) ? o.settings : [base, ...o.settings];
  const size = o.generator.config.tokenGrid * o.tokenizer.stride;
  const real = await referenceFeatures(o, refTotal, size);
  const realGauss = gaussianOfRows(real);
  const realBlock = firstRows(real.features, n);
  const labels = Array.from({ length: n }, (_, i) => i % classes);
  const rows: SweepRow[] = [];
  for (const [index, s] of settings.entries()) {
    const t0 = Date.now();
    const feats = new Float32Array(n * o.classifier.featureDim);
    const predictions = new Array<number>(n);
    for (let start = 0, b = 0; start < n; start += o.batchSize, b++) {
      const want = labels.slice(start, start + o.batchSize);
      // Seeded per sample as eval-generator is, so a sweep row and an evaluation of that setting draw the same samples.
      const grid = o.generator.config.tokenGrid;
      const random = perSampleRandom(o.seed, want.map((_, i) => start + i), grid * grid, o.generator.config.groups);
      const out = await o.generator.sample({ ...s, labels: want, random, tokenizer: o.tokenizer, clamp: true });
      const c = await o.classifier.run(out.images!);
      feats.set(c.features.data, start * o.classifier.featureDim);
      c.predictions.toNumbers().forEach((p, i) => { predictions[start + i] = p; });
    }
    const fake: LabelledFeatures = { features: new HostTensor("float32", [n, o.classifier.featureDim], feats), labels };
    const fd = (await frechetDistance(realGauss, gaussianOfRows(fake), { session: o.session })).fid;
    const acc = perClassAccuracy(predictions, labels, classes);
    const pr = await precisionRecall(realBlock, fake.features, { k, session: o.session });
    const m = { fd_fmnist: fd, class_accuracy: acc.hits.reduce((a, v) => a + v, 0) / n, precision: pr.precision, recall: pr.recall };
    const row: SweepRow = { setting: s, is_default: sameSetting(s, base), ...m, per_class_accuracy: [...acc.accuracy], score: sweepScore(m, weights), seconds: (Date.now() - t0) / 1000 };
    rows.push(row);
    o.onRow?.(row, index, settings.length);
  }
  const best = rows.reduce((bi, r, i) => (r.score < rows[bi]!.score ? i : bi), 0);
  return {
    samples: n, per_class: o.perClass, seed: o.seed, reference_images: refTotal, k,
    score: scoreFormula(weights), weights, rows, best, class_names: o.generator.classNames ?? null,
  };
}

async function referenceFeatures(o: SweepOptions, count: number, size: number): Promise<LabelledFeatures> {
  const channels = o.tokenizer.config.numChannels;
  if (channels !== 1 && channels !== 3) throw new ConfigError({ op: "runSamplingSweep", expected: "a tokenizer of 1 or 3 channels", got: `${channels}` });
  const images = subset(o.reference, Array.from({ length: count }, (_, i) => i));
  const loader = new BatchLoader(images, { batchSize: o.batchSize, seed: 0, shuffle: false, dropLast: false, prefetch: false, size, fit: o.fit, channels });
  const dim = o.classifier.featureDim;
  const feats = new Float32Array(count * dim), labels = new Array<number>(count);
  for (let start = 0; start < count; start += o.batchSize) {
    const batch = await loader.next();
    const c = await o.classifier.run(batch.images);
    feats.set(c.features.data, start * dim);
    batch.labels.toNumbers().forEach((l, i) => { labels[start + i] = l; });
  }
  return { features: new HostTensor("float32", [count, dim], feats), labels };
}

/** The sweep as a Markdown table (best row marked), for the model card. */
export function sweepMarkdown(r: SweepResult): string {
  const f = (v: number, p = 3) => v.toFixed(p);
  const lines = [
    `${r.samples} samples (${r.per_class} per class, seed ${r.seed}) per setting vs ${r.reference_images} reference images; precision / recall with k = ${r.k} against the first ${r.samples} of them. Score (lower is better): ${r.score}.`,
    "",
    "| steps | guidance | scale_pow | temperature | gFD | class acc. | precision | recall | score | |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  r.rows.forEach((row, i) => {
    const s = row.setting;
    const mark = [i === r.best ? "**best**" : "", row.is_default ? "(stored default)" : ""].filter(Boolean).join(" ");
    lines.push(`| ${s.steps} | ${s.guidanceScale} | ${s.scalePow} | ${s.randomizeTemperature} | ${f(row.fd_fmnist)} | ${f(100 * row.class_accuracy, 1)} % | ${f(row.precision)} | ${f(row.recall)} | ${f(row.score)} | ${mark} |`);
  });
  return lines.join("\n") + "\n";
}
