// Tokenizer evaluation (spec 4.2) over a block of a dataset: every image is reconstructed, and the
// sums behind rFD (in-domain classifier features), rFID (Inception, optional), PSNR / SSIM / MSE /
// MAE and codebook usage / entropy are accumulated into EvalSums. scoreTokenizerEval turns the
// (possibly merged) sums into the reported numbers.

import type { ImageDataset } from "../data/dataset.js";
import { subset } from "../data/dataset.js";
import { BatchLoader, type Fit } from "../data/loader.js";
import type { HostTensor } from "../engine/host-tensor.js";
import type { ParamSource, SessionOptions } from "../engine/runtime/session.js";
import { ConfigError } from "../engine/errors.js";
import { codebookSize, type TokenizerConfig } from "../models/tokenizer/config.js";
import type { Tokenizer } from "../models/tokenizer/tokenizer.js";
import type { InDomainClassifier } from "./classifier.js";
import { CodebookStats } from "./codebook.js";
import { FeatureStats } from "./feature-stats.js";
import { ImageMetrics } from "./image-metrics.js";
import { InceptionExtractor } from "./inception.js";
import { EvalSums, type EvalSettings } from "./eval-sums.js";
import { codebookOfHistogram, frechetOfStats, toRgb } from "./eval-scores.js";
import { shardBatchRange, WHOLE, type Shard } from "./shard.js";

export interface TokenizerEvalOptions {
  readonly tokenizer: Tokenizer;
  readonly classifier: InDomainClassifier;
  /** Inception weights; rFID is skipped without them. */
  readonly inception?: ParamSource;
  readonly data: ImageDataset;
  /** Images are fitted to size x size as the tokenizer was trained (Fashion-MNIST: "pad" to 32). */
  readonly size: number;
  readonly fit: Fit;
  readonly batchSize: number;
  /** Evaluate the first `limit` images of `data` (all by default). */
  readonly limit?: number;
  readonly shard?: Shard;
  /** Echoed in the report and checked equal across shards. */
  readonly settings?: EvalSettings;
  readonly onBatch?: (done: number, total: number) => void;
  readonly session?: SessionOptions;
}

const METRICS = ["psnr", "ssim", "mse", "mae"] as const;

/** Codebook bits for the usage statistics (an LFQ tokenizer's token size; log2 of a VQ codebook, rounded up). */
export const codebookBits = (c: TokenizerConfig): number => Math.ceil(Math.log2(codebookSize(c)));

export async function runTokenizerEval(o: TokenizerEvalOptions): Promise<EvalSums> {
  const total = Math.min(o.limit ?? o.data.count, o.data.count);
  if (!(total >= 2)) throw new ConfigError({ op: "runTokenizerEval", expected: "at least 2 images (a covariance needs 2)", got: `${total}` });
  const shard = o.shard ?? WHOLE;
  // Whole global batches (as the generator evaluation): every batch, and so every per-batch sum, is
  // the unsharded run's, and the merged sums are its sums bit for bit.
  const { start, end } = shardBatchRange(total, o.batchSize, shard);
  const images = subset(o.data, Array.from({ length: end - start }, (_, i) => start + i));
  const channels = o.tokenizer.config.numChannels;
  if (channels !== 1 && channels !== 3) throw new ConfigError({ op: "runTokenizerEval", expected: "a tokenizer of 1 or 3 channels", got: `${channels}` });
  const loader = new BatchLoader(images, { batchSize: o.batchSize, seed: 0, shuffle: false, dropLast: false, prefetch: false, size: o.size, fit: o.fit, channels });
  const session = o.session ?? {};
  const sums = new EvalSums("tokenizer", shard, { images: total, batch: o.batchSize, ...o.settings });
  const d = o.classifier.featureDim;
  sums.stats.set("fd_real", FeatureStats.empty(d, session));
  sums.stats.set("fd_fake", FeatureStats.empty(d, session));
  const metrics = new ImageMetrics(channels, o.size, o.size, session);
  const codebook = new CodebookStats(codebookBits(o.tokenizer.config), session);
  let inception: InceptionExtractor | undefined;
  try {
    if (o.inception) {
      inception = await InceptionExtractor.create(o.inception, { dtype: "float32", height: o.size, width: o.size, input: "unit", outputs: ["pool2048"] }, session);
      sums.stats.set("fid_real", FeatureStats.empty(2048, session));
      sums.stats.set("fid_fake", FeatureStats.empty(2048, session));
    }
    const batches = Math.ceil(images.count / o.batchSize);
    o.onBatch?.(0, batches);
    for (let b = 0; b < batches; b++) {
      const real = (await loader.next()).images;
      const recon = await o.tokenizer.reconstruct(real, { clamp: true });
      const m = await metrics.perImage(real, recon.images);
      const row = METRICS.map((k) => m[k].reduce((s, v) => s + v, 0));
      sums.addSum("image_metrics", [...row, m.psnr.length]);
      await codebook.add(recon.ids);
      await addFeatures(sums, "fd", real, recon.images, async (x) => (await o.classifier.run(x)).features);
      if (inception) {
        const ext = inception;
        await addFeatures(sums, "fid", real, recon.images, async (x) => (await ext.run(toRgb(x))).pool2048!);
      }
      o.onBatch?.(b + 1, batches);
    }
    sums.addSum("codebook", codebook.histogram.data as Float64Array);
    return sums;
  } finally {
    await Promise.all([metrics.dispose(), codebook.dispose(), inception?.dispose()]);
  }
}

async function addFeatures(sums: EvalSums, prefix: string, real: HostTensor, fake: HostTensor, features: (x: HostTensor) => Promise<HostTensor>): Promise<void> {
  await sums.statsOf(`${prefix}_real`).add(await features(real));
  await sums.statsOf(`${prefix}_fake`).add(await features(fake));
}

export interface TokenizerEvalReport {
  readonly kind: "tokenizer";
  readonly images: number;
  /** Fréchet distance of in-domain classifier features, reconstructions vs originals ("rFD-FMNIST"). */
  readonly rfd_fmnist: number;
  /** Inception rFID; null without Inception weights. */
  readonly rfid: number | null;
  readonly psnr: number;
  readonly ssim: number;
  readonly mse: number;
  readonly mae: number;
  readonly codebook_usage: number;
  readonly codebook_entropy: number;
  readonly codebook_bits: number;
  readonly settings: EvalSettings;
}

export async function scoreTokenizerEval(sums: EvalSums, session: SessionOptions = {}): Promise<TokenizerEvalReport> {
  const m = sums.sum("image_metrics"), n = m[4]!;
  const hist = sums.sum("codebook");
  const bits = Math.round(Math.log2(hist.length));
  const cb = await codebookOfHistogram(bits, hist, session);
  const fid = sums.stats.has("fid_real") ? await frechetOfStats(sums.statsOf("fid_real"), sums.statsOf("fid_fake"), session) : null;
  return {
    kind: "tokenizer",
    images: n,
    rfd_fmnist: await frechetOfStats(sums.statsOf("fd_real"), sums.statsOf("fd_fake"), session),
    rfid: fid,
    psnr: m[0]! / n, ssim: m[1]! / n, mse: m[2]! / n, mae: m[3]! / n,
    codebook_usage: cb.usage, codebook_entropy: cb.entropy, codebook_bits: bits,
    settings: sums.settings,
  };
}
