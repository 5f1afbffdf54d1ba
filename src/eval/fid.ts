// FID (and IS) of a set of images: Inception features streamed into float64 statistics, then the
// Fréchet distance. Two uses (spec 4.1 / 4.2):
// - reconstruction (rFID): originals via addReal, reconstructions via addFake, both on the fly;
// - generation (gFID): generated images via addFake against reference statistics (mu, sigma).
// IS comes from the fake images' logits_unbiased. Statistics of different workers merge through
// realStats/fakeStats (FeatureStats.merge) before result().

import type { FloatDType } from "../engine/graph/dtype.js";
import type { HostTensor } from "../engine/host-tensor.js";
import type { ParamSource, SessionOptions } from "../engine/runtime/session.js";
import { FeedError } from "../engine/errors.js";
import { InceptionExtractor } from "./inception.js";
import { FeatureStats, type GaussianStats } from "./feature-stats.js";
import { frechetDistance, type FrechetResult } from "./frechet.js";
import { InceptionScore, RECONSTRUCTION_IS, type InceptionScoreOptions, type InceptionScoreResult } from "./inception-score.js";

export interface FidEvaluatorOptions {
  /** Inception weights (see inception-weights.ts). */
  readonly weights: ParamSource;
  readonly height: number;
  readonly width: number;
  /**
   * The official extractor runs in float64. "float32" (the default) uses ORT's native Conv and is
   * far faster; on the inception_fid golden case it stays within the float64 case tolerance.
   */
  readonly dtype?: FloatDType;
  /** "uint8" images, or float32 in [0, 1] converted in the graph (clamp, x255, truncate). */
  readonly input?: "uint8" | "unit";
  readonly inceptionScore?: InceptionScoreOptions;
  readonly session?: SessionOptions;
}

export interface FidResult {
  readonly frechet: FrechetResult;
  readonly inceptionScore: InceptionScoreResult;
}

export class FidEvaluator {
  readonly realStats: FeatureStats;
  readonly fakeStats: FeatureStats;
  private readonly is: InceptionScore;

  private constructor(private readonly extractor: InceptionExtractor, isOptions: InceptionScoreOptions, private readonly session: SessionOptions) {
    this.realStats = FeatureStats.empty(2048, session);
    this.fakeStats = FeatureStats.empty(2048, session);
    this.is = new InceptionScore(1008, isOptions, session);
  }

  static async create(o: FidEvaluatorOptions): Promise<FidEvaluator> {
    const extractor = await InceptionExtractor.create(o.weights, {
      dtype: o.dtype ?? "float32", height: o.height, width: o.width, input: o.input ?? "uint8", outputs: ["pool2048", "logitsUnbiased"],
    }, o.session);
    return new FidEvaluator(extractor, o.inceptionScore ?? RECONSTRUCTION_IS, o.session ?? {});
  }

  /** Reference images (originals): features only. */
  async addReal(images: HostTensor): Promise<void> {
    const out = await this.extractor.run(images);
    await this.realStats.add(out.pool2048!);
  }

  /** Evaluated images (reconstructions or samples): features and IS logits. */
  async addFake(images: HostTensor): Promise<void> {
    const out = await this.extractor.run(images);
    await this.fakeStats.add(out.pool2048!);
    await this.is.add(out.logitsUnbiased!);
  }

  /** FID of the fake images against `reference` (e.g. ADM statistics) or, by default, the real images. */
  async result(reference?: GaussianStats): Promise<FidResult> {
    if (!reference && this.realStats.count < 2) {
      throw new FeedError({ op: "FidEvaluator.result", expected: "reference statistics or at least 2 real images", got: `${this.realStats.count} real images` });
    }
    const ref = reference ?? (await this.realStats.gaussian());
    const frechet = await frechetDistance(ref, await this.fakeStats.gaussian(), { session: this.session });
    return { frechet, inceptionScore: await this.is.result() };
  }

  async dispose(): Promise<void> {
    await this.extractor.dispose();
    await this.realStats.dispose();
    await this.fakeStats.dispose();
    await this.is.dispose();
  }
}
