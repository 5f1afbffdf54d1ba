// The generator's periodic evaluation during training: a small fixed sample (the same labels and
// seed every time, so successive evaluations differ only by the weights) scored by the in-domain
// classifier against real test images whose features are computed once: FD, class accuracy,
// precision / recall, and the sweep's score (what best-checkpoint selection minimises).

import { HostTensor } from "../engine/host-tensor.js";
import type { SessionOptions } from "../engine/runtime/session.js";
import { ConfigError } from "../engine/errors.js";
import { loadFashionMnist } from "../data/fashion-mnist.js";
import { subset } from "../data/dataset.js";
import { BatchLoader } from "../data/loader.js";
import type { Generator } from "../models/generator/generator.js";
import type { Tokenizer } from "../models/tokenizer/tokenizer.js";
import type { InDomainClassifier } from "../eval/classifier.js";
import type { GaussianStats } from "../eval/feature-stats.js";
import { frechetDistance } from "../eval/frechet.js";
import { firstRows, precisionRecall, DEFAULT_NEIGHBOURS } from "../eval/precision-recall.js";
import { gaussianOfRows, perClassAccuracy } from "../eval/sample-quality.js";
import { DEFAULT_WEIGHTS, sweepScore } from "../eval/sampling-sweep.js";
import type { DatasetSettings } from "./recipe.js";

/** The metric best-checkpoint selection uses, lower is better. */
export const SELECTION_KEY = "eval_score";

export interface SampleEvaluatorOptions {
  readonly classifier: InDomainClassifier;
  readonly samples: number;
  readonly classes: number;
  readonly seed: number;
  readonly batchSize: number;
  readonly dataset: DatasetSettings;
  readonly channels: 1 | 3;
  /** Real test images for the reference (default max(1000, samples)). */
  readonly referenceCount?: number;
  readonly session?: SessionOptions;
}

export class SampleEvaluator {
  private constructor(
    private readonly o: SampleEvaluatorOptions,
    private readonly realGauss: GaussianStats,
    private readonly realBlock: HostTensor<Float32Array>,
  ) {}

  static async create(o: SampleEvaluatorOptions): Promise<SampleEvaluator> {
    const k = DEFAULT_NEIGHBOURS;
    if (!(o.samples > k)) throw new ConfigError({ op: "SampleEvaluator", scope: "training.eval_samples", expected: `more than ${k} samples (precision / recall use k = ${k})`, got: String(o.samples) });
    if (o.dataset.kind !== "fashion-mnist") throw new ConfigError({ op: "SampleEvaluator", scope: "training.eval_samples", expected: "a Fashion-MNIST recipe (the evaluation uses its test split)", got: o.dataset.kind });
    const test = await loadFashionMnist({ split: "test", ...(o.dataset.dir !== undefined ? { dir: o.dataset.dir } : {}) });
    const count = Math.min(test.count, o.referenceCount ?? Math.max(1000, o.samples));
    if (count < o.samples) throw new ConfigError({ op: "SampleEvaluator", scope: "training.eval_samples", expected: `at most the ${count} test images`, got: String(o.samples) });
    const loader = new BatchLoader(subset(test, Array.from({ length: count }, (_, i) => i)), {
      batchSize: 256, seed: 0, shuffle: false, dropLast: false, prefetch: false, size: o.dataset.resolution, fit: o.dataset.fit, channels: o.channels,
    });
    const d = o.classifier.featureDim, feats = new Float32Array(count * d);
    for (let start = 0; start < count; start += 256) feats.set((await o.classifier.run((await loader.next()).images)).features.data, start * d);
    const real = new HostTensor("float32", [count, d], feats);
    return new SampleEvaluator(o, gaussianOfRows({ features: real, labels: [] }), firstRows(real, o.samples));
  }

  async evaluate(generator: Generator, tokenizer: Tokenizer): Promise<Record<string, number>> {
    const { samples, classes, batchSize, classifier } = this.o;
    const labels = Array.from({ length: samples }, (_, i) => i % classes);
    const d = classifier.featureDim, feats = new Float32Array(samples * d), predictions: number[] = [];
    for (let start = 0, b = 0; start < samples; start += batchSize, b++) {
      const want = labels.slice(start, start + batchSize);
      const out = await generator.sample({ labels: want, seed: this.o.seed + b, tokenizer, clamp: true });
      const c = await classifier.run(out.images!);
      feats.set(c.features.data, start * d);
      predictions.push(...c.predictions.toNumbers());
    }
    const fake = new HostTensor("float32", [samples, d], feats);
    const fd = (await frechetDistance(this.realGauss, gaussianOfRows({ features: fake, labels }), { session: this.o.session })).fid;
    const acc = perClassAccuracy(predictions, labels, classes);
    const pr = await precisionRecall(this.realBlock, fake, { session: this.o.session });
    const m = { fd_fmnist: fd, class_accuracy: acc.hits.reduce((a, v) => a + v, 0) / samples, precision: pr.precision, recall: pr.recall };
    return { eval_fd: m.fd_fmnist, eval_class_accuracy: m.class_accuracy, eval_precision: m.precision, eval_recall: m.recall, [SELECTION_KEY]: sweepScore(m, DEFAULT_WEIGHTS) };
  }

  async dispose(): Promise<void> { await this.o.classifier.dispose(); }
}
