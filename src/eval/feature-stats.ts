// Streaming Gaussian statistics of feature vectors for the FID, as the official evaluator keeps
// them: a float64 running sum, a float64 running sum of outer products and a count. Sums add, so
// shards computed on different workers merge by adding their tensors, and the statistics
// serialise as three plain tensors (safetensors-friendly). mu and sigma use N-1 normalisation:
// mu = S1/N, sigma = (S2 - outer(S1, S1)/N)/(N-1). The graph computes each batch's terms; they
// are accumulated with compensation (compensated-sum.ts) so that shards merge to the unsharded
// sums bit for bit, whatever the grouping of the batches.

import type { Graph } from "../engine/graph/tensor.js";
import { HostTensor } from "../engine/host-tensor.js";
import type { SessionOptions } from "../engine/runtime/session.js";
import { cast, div, matmul, reduceSum, reshape, sub, transpose } from "../engine/ops/index.js";
import { FeedError, ShapeError, fmtShape } from "../engine/errors.js";
import { LazyGraph } from "./graph-runner.js";
import { CompensatedSum } from "./compensated-sum.js";

/** Mean [d] and covariance [d, d] in float64: what a reference statistics file holds. */
export interface GaussianStats {
  readonly mu: HostTensor<Float64Array>;
  readonly sigma: HostTensor<Float64Array>;
}

/** Keys used by toTensors/fromTensors (after the optional prefix). */
export const STATS_KEYS = { sum: "sum", sumOuter: "sum_outer", count: "count", sumLo: "sum_lo", sumOuterLo: "sum_outer_lo" } as const;

export class FeatureStats {
  private readonly updaters = new Map<string, LazyGraph>();
  private readonly sum: CompensatedSum;
  private readonly sumOuter: CompensatedSum;
  private n: number;

  private constructor(readonly dim: number, sum: CompensatedSum, sumOuter: CompensatedSum, count: number, private readonly session: SessionOptions) {
    this.sum = sum;
    this.sumOuter = sumOuter;
    this.n = count;
  }

  static empty(dim: number, session: SessionOptions = {}): FeatureStats {
    return new FeatureStats(dim, new CompensatedSum(dim), new CompensatedSum(dim * dim), 0, session);
  }

  get count(): number { return this.n; }

  /** Adds a batch of features [B, dim] (float32 or float64; converted to float64 before any product). */
  async add(features: HostTensor): Promise<void> {
    const [b, d] = features.shape;
    if (features.shape.length !== 2 || d !== this.dim || (features.dtype !== "float32" && features.dtype !== "float64")) {
      throw new FeedError({ op: "FeatureStats.add", expected: `float32 or float64 features [B, ${this.dim}]`, got: `${features.dtype}${fmtShape(features.shape)}` });
    }
    if (b === 0) return;
    let updater = this.updaters.get(features.dtype);
    if (!updater) {
      updater = new LazyGraph((g) => buildUpdate(g, this.dim, features.dtype === "float64" ? "float64" : "float32"), this.session);
      this.updaters.set(features.dtype, updater);
    }
    const out = await updater.run({ x: features });
    this.sum.add(out.batch_sum!.data as Float64Array);
    this.sumOuter.add(out.batch_sum_outer!.data as Float64Array);
    this.n += b!;
  }

  /** Adds another shard's sums into this one (the same as having streamed its features here). */
  merge(other: FeatureStats): void {
    if (other.dim !== this.dim) throw new ShapeError({ op: "FeatureStats.merge", expected: `statistics of dimension ${this.dim}`, got: `dimension ${other.dim}` });
    this.sum.merge(other.sum);
    this.sumOuter.merge(other.sumOuter);
    this.n += other.n;
  }

  /** mu and sigma (N - 1 normalisation); needs at least two samples. */
  async gaussian(): Promise<GaussianStats> {
    if (this.n < 2) throw new ShapeError({ op: "FeatureStats.gaussian", expected: "at least 2 samples for an N-1 covariance", got: `${this.n}` });
    const lazy = new LazyGraph((g) => buildGaussian(g, this.dim), this.session);
    try {
      const out = await lazy.run({ sum: this.vec(this.sum.value()), sum_outer: this.mat(this.sumOuter.value()), n: HostTensor.scalar(this.n, "float64") });
      return { mu: out.mu as HostTensor<Float64Array>, sigma: out.sigma as HostTensor<Float64Array> };
    } finally {
      await lazy.dispose();
    }
  }

  /**
   * The accumulators as tensors: `<prefix>sum` f64 [d], `<prefix>sum_outer` f64 [d, d], `<prefix>count`
   * i64 [1], and the compensation parts `<prefix>sum_lo` [d], `<prefix>sum_outer_lo` [d, d].
   */
  toTensors(prefix = ""): Map<string, HostTensor> {
    return new Map<string, HostTensor>([
      [prefix + STATS_KEYS.sum, this.vec(this.sum.hi.slice())],
      [prefix + STATS_KEYS.sumOuter, this.mat(this.sumOuter.hi.slice())],
      [prefix + STATS_KEYS.count, HostTensor.i64([this.n], [1])],
      [prefix + STATS_KEYS.sumLo, this.vec(this.sum.lo.slice())],
      [prefix + STATS_KEYS.sumOuterLo, this.mat(this.sumOuter.lo.slice())],
    ]);
  }

  static fromTensors(tensors: ReadonlyMap<string, HostTensor>, prefix = "", session: SessionOptions = {}): FeatureStats {
    const get = (key: string, dtype: string, check: (shape: readonly number[]) => boolean, want: string): HostTensor => {
      const t = tensors.get(prefix + key);
      if (!t || t.dtype !== dtype || !check(t.shape)) {
        throw new FeedError({ op: "FeatureStats.fromTensors", scope: prefix + key, expected: `${dtype}${want}`, got: t ? `${t.dtype}${fmtShape(t.shape)}` : "no such tensor" });
      }
      return t;
    };
    const sum = get(STATS_KEYS.sum, "float64", (s) => s.length === 1, " [d]");
    const d = sum.shape[0]!;
    const outer = get(STATS_KEYS.sumOuter, "float64", (s) => s.length === 2 && s[0] === d && s[1] === d, ` [${d}, ${d}]`);
    const count = get(STATS_KEYS.count, "int64", (s) => s.length === 1 && s[0] === 1, " [1]");
    const n = count.at(0);
    if (!(Number.isSafeInteger(n) && n >= 0)) throw new FeedError({ op: "FeatureStats.fromTensors", scope: prefix + STATS_KEYS.count, expected: "a count >= 0", got: String(n) });
    // Files written before the compensation parts were kept have none: zeros.
    const lo = (key: string, like: HostTensor): Float64Array | undefined =>
      tensors.has(prefix + key) ? (get(key, "float64", (s) => s.length === like.shape.length && s.every((v, i) => v === like.shape[i]), fmtShape(like.shape)).data as Float64Array).slice() : undefined;
    return new FeatureStats(d, new CompensatedSum(d, (sum.data as Float64Array).slice(), lo(STATS_KEYS.sumLo, sum)),
      new CompensatedSum(d * d, (outer.data as Float64Array).slice(), lo(STATS_KEYS.sumOuterLo, outer)), n, session);
  }

  async dispose(): Promise<void> {
    for (const u of this.updaters.values()) await u.dispose();
    this.updaters.clear();
  }

  private vec(a: Float64Array): HostTensor { return new HostTensor("float64", [this.dim], a); }
  private mat(a: Float64Array): HostTensor { return new HostTensor("float64", [this.dim, this.dim], a); }
}

function buildUpdate(g: Graph, d: number, dtype: "float32" | "float64") {
  const x = cast(g.input("x", dtype, ["B", d]), "float64");
  return { batch_sum: reduceSum(x, [0]), batch_sum_outer: matmul(transpose(x, [1, 0]), x) };
}

function buildGaussian(g: Graph, d: number) {
  const sum = g.input("sum", "float64", [d]);
  const outer = g.input("sum_outer", "float64", [d, d]);
  const n = g.input("n", "float64", []);
  const sumOuterOfSum = matmul(reshape(sum, [d, 1]), reshape(sum, [1, d]));
  return { mu: div(sum, n), sigma: div(sub(outer, div(sumOuterOfSum, n)), sub(n, 1)) };
}
