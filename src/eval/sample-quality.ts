// What a user sees in class-conditional samples, as numbers computed from classifier outputs:
//   - FD of all samples and per class (a class's samples vs the real images of that class),
//   - accuracy overall and per class (classifier's prediction = requested class),
//   - precision / recall (k-NN manifolds, precision-recall.ts) of samples vs as many real images,
// and the ceilings the real data sets for them: the classifier's own per-class accuracy on the
// real images, and precision / recall of one block of real images against another of equal size.
// Used by eval-generator's report and by the sampling sweep.

import { HostTensor } from "../engine/host-tensor.js";
import type { SessionOptions } from "../engine/runtime/session.js";
import { FeedError } from "../engine/errors.js";
import type { GaussianStats } from "./feature-stats.js";
import { frechetDistance } from "./frechet.js";
import { DEFAULT_NEIGHBOURS, firstRows, precisionRecall, type PrecisionRecall } from "./precision-recall.js";

/** Classifier features [N, d] of a set of images with their (real or requested) labels. */
export interface LabelledFeatures {
  readonly features: HostTensor<Float32Array>;
  readonly labels: ArrayLike<number>;
}

/** Per class c: hits[c] / count[c] (NaN for a class with no images). */
export function perClassAccuracy(predictions: ArrayLike<number>, labels: ArrayLike<number>, classes: number): { hits: Float64Array; count: Float64Array; accuracy: Float64Array } {
  if (predictions.length !== labels.length) throw new FeedError({ op: "perClassAccuracy", expected: `one prediction per label (${labels.length})`, got: `${predictions.length}` });
  const hits = new Float64Array(classes), count = new Float64Array(classes);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!(Number.isInteger(l) && l >= 0 && l < classes)) throw new FeedError({ op: "perClassAccuracy", expected: `labels in [0, ${classes})`, got: String(l) });
    count[l]!++;
    if (predictions[i] === l) hits[l]!++;
  }
  return { hits, count, accuracy: hits.map((h, c) => h / count[c]!) };
}

/** Mean and N-1 covariance of rows of x whose label is `cls` (all rows when cls is undefined), in float64. */
export function gaussianOfRows(x: LabelledFeatures, cls?: number): GaussianStats & { count: number } {
  const [n, d] = x.features.shape as [number, number];
  const rows: number[] = [];
  for (let i = 0; i < n; i++) if (cls === undefined || x.labels[i] === cls) rows.push(i);
  const mu = new Float64Array(d), sigma = new Float64Array(d * d);
  const m = rows.length;
  if (m < 2) return { mu: new HostTensor("float64", [d], mu), sigma: new HostTensor("float64", [d, d], sigma), count: m };
  const f = x.features.data;
  for (const i of rows) for (let a = 0; a < d; a++) mu[a]! += f[i * d + a]!;
  for (let a = 0; a < d; a++) mu[a]! /= m;
  const c = new Float64Array(d);
  for (const i of rows) {
    for (let a = 0; a < d; a++) c[a] = f[i * d + a]! - mu[a]!;
    for (let a = 0; a < d; a++) {
      const ca = c[a]!;
      if (ca === 0) continue;
      for (let b = a; b < d; b++) sigma[a * d + b]! += ca * c[b]!;
    }
  }
  for (let a = 0; a < d; a++) for (let b = a; b < d; b++) sigma[b * d + a] = sigma[a * d + b]! /= m - 1;
  return { mu: new HostTensor("float64", [d], mu), sigma: new HostTensor("float64", [d, d], sigma), count: m };
}

/** FD between the class-c rows of two sets, per class (null where either side has < 2 rows). */
export async function perClassFrechet(real: LabelledFeatures, fake: LabelledFeatures, classes: number, session: SessionOptions = {}): Promise<(number | null)[]> {
  const out: (number | null)[] = [];
  for (let c = 0; c < classes; c++) {
    const r = gaussianOfRows(real, c), f = gaussianOfRows(fake, c);
    out.push(r.count < 2 || f.count < 2 ? null : (await frechetDistance(r, f, { session })).fid);
  }
  return out;
}

export interface SampleQuality {
  readonly per_class_fd: (number | null)[];
  /** Samples vs the first as many real images (equal set sizes, as the paper). */
  readonly precision_recall: PrecisionRecall;
  /** Real block [0, n) vs real block [n, 2n) of the reference: what a perfect generator would get; null with < 2n real images. */
  readonly real_precision_recall: PrecisionRecall | null;
}

/**
 * The set-level measures of samples against real images. `k` is the neighbour count; the real set
 * used for precision / recall is its first `fake.count` rows, so both sets have the same size.
 */
export async function sampleQuality(real: LabelledFeatures, fake: LabelledFeatures, classes: number, o: { k?: number; session?: SessionOptions } = {}): Promise<SampleQuality> {
  const k = o.k ?? DEFAULT_NEIGHBOURS, session = o.session ?? {};
  const n = fake.features.shape[0]!, nReal = real.features.shape[0]!;
  const realBlock = firstRows(real.features, n);
  const pr = await precisionRecall(realBlock, fake.features, { k, session });
  let floor: PrecisionRecall | null = null;
  if (nReal >= 2 * n) {
    const d = real.features.shape[1]!;
    const second = new HostTensor("float32", [n, d], real.features.data.subarray(n * d, 2 * n * d));
    floor = await precisionRecall(realBlock, second, { k, session });
  }
  return { per_class_fd: await perClassFrechet(real, fake, classes, session), precision_recall: pr, real_precision_recall: floor };
}

/** Rows [N, 1] of float32 labels (how labels travel in EvalSums' concatenated matrices) back to numbers. */
export function labelColumn(t: HostTensor): Float32Array {
  if (t.shape.length !== 2 || t.shape[1] !== 1) throw new FeedError({ op: "labelColumn", expected: "labels [N, 1]", got: JSON.stringify(t.shape) });
  return t.data as Float32Array;
}

/** Labels as a float32 [N, 1] matrix for EvalSums.appendLogits. */
export function labelRows(labels: ArrayLike<number | bigint>): HostTensor<Float32Array> {
  return new HostTensor("float32", [labels.length, 1], Float32Array.from({ length: labels.length }, (_, i) => Number(labels[i]!)));
}
