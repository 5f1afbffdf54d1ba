// Inception Score from classifier logits, streamed in batches and computed in float64:
// p(y|x) = softmax(logits); per split, IS = exp( mean_x sum_y p log(p + eps) - sum_y pbar log(pbar + eps) )
// with pbar = mean_x p(y|x), which equals exp(mean_x KL(p(y|x) || pbar)). Splits are consecutive
// runs of `splitSize` samples (a shorter last split counts as one, as in the ADM suite), and the
// result is the mean and population std (ddof 0) over splits.
// Conventions: generation (spec 4.1, ADM suite) uses splits of 5000 and no eps (0 log 0 := 0);
// reconstruction (spec 4.2, official evaluator) uses one split and eps 1e-16, on logits_unbiased.

import type { Graph, Tensor } from "../engine/graph/tensor.js";
import { HostTensor } from "../engine/host-tensor.js";
import type { SessionOptions } from "../engine/runtime/session.js";
import { add, cast, div, exp, greater, log, mul, reduceSum, reshape, softmax, sub, where } from "../engine/ops/index.js";
import { FeedError, ShapeError, fmtShape } from "../engine/errors.js";
import { LazyGraph } from "./graph-runner.js";

export interface InceptionScoreOptions {
  readonly splitSize: number;
  readonly eps: number;
}

export const GENERATION_IS: InceptionScoreOptions = { splitSize: 5000, eps: 0 };
export const RECONSTRUCTION_IS: InceptionScoreOptions = { splitSize: Infinity, eps: 1e-16 };

export interface InceptionScoreResult {
  readonly mean: number;
  readonly std: number;
  readonly perSplit: Float64Array;
}

interface Split { pSum: Float64Array; pLogP: number; n: number }

export class InceptionScore {
  private readonly splits: Split[] = [];
  private readonly batchGraphs = new Map<string, LazyGraph>();

  constructor(readonly classes: number, readonly options: InceptionScoreOptions = RECONSTRUCTION_IS, private readonly session: SessionOptions = {}) {
    if (!(options.splitSize >= 1) || !(options.eps >= 0)) throw new ShapeError({ op: "InceptionScore", expected: "splitSize >= 1 and eps >= 0", got: `splitSize ${options.splitSize}, eps ${options.eps}` });
  }

  get count(): number { return this.splits.reduce((s, x) => s + x.n, 0); }

  /** logits [B, classes], float32 or float64; rows beyond the current split's size start the next split. */
  async add(logits: HostTensor): Promise<void> {
    const [b, c] = logits.shape;
    if (logits.shape.length !== 2 || c !== this.classes || (logits.dtype !== "float32" && logits.dtype !== "float64")) {
      throw new FeedError({ op: "InceptionScore.add", expected: `float logits [B, ${this.classes}]`, got: `${logits.dtype}${fmtShape(logits.shape)}` });
    }
    let graph = this.batchGraphs.get(logits.dtype);
    if (!graph) {
      const dtype = logits.dtype;
      graph = new LazyGraph((g) => buildBatch(g, this.classes, dtype, this.options.eps), this.session);
      this.batchGraphs.set(dtype, graph);
    }
    for (let row = 0; row < b!;) {
      let split = this.splits[this.splits.length - 1];
      if (!split || split.n >= this.options.splitSize) {
        split = { pSum: new Float64Array(this.classes), pLogP: 0, n: 0 };
        this.splits.push(split);
      }
      const take = Math.min(b! - row, this.options.splitSize - split.n);
      const part = new HostTensor(logits.dtype, [take, c!], logits.data.slice(row * c!, (row + take) * c!));
      const out = await graph.run({ logits: part, p_sum: new HostTensor("float64", [c!], split.pSum) });
      split.pSum = out.next_p_sum!.data as Float64Array;
      split.pLogP += out.p_log_p!.at(0);
      split.n += take;
      row += take;
    }
  }

  async result(): Promise<InceptionScoreResult> {
    const s = this.splits.length;
    if (s === 0) throw new FeedError({ op: "InceptionScore.result", expected: "at least one sample", got: "none" });
    const c = this.classes;
    const pSum = new Float64Array(s * c);
    this.splits.forEach((x, i) => pSum.set(x.pSum, i * c));
    const final = new LazyGraph((g) => buildFinal(g, s, c, this.options.eps), this.session);
    try {
      const out = await final.run({
        p_sum: new HostTensor("float64", [s, c], pSum),
        p_log_p: HostTensor.f64(this.splits.map((x) => x.pLogP)),
        n: HostTensor.f64(this.splits.map((x) => x.n)),
      });
      const perSplit = out.score!.data as Float64Array;
      const mean = perSplit.reduce((a, v) => a + v, 0) / s;
      const std = Math.sqrt(perSplit.reduce((a, v) => a + (v - mean) ** 2, 0) / s);
      return { mean, std, perSplit };
    } finally {
      await final.dispose();
    }
  }

  async dispose(): Promise<void> {
    for (const g of this.batchGraphs.values()) await g.dispose();
    this.batchGraphs.clear();
  }
}

/** sum_y p log(p + eps); with eps 0, terms with p = 0 are 0 (not 0 * -inf). */
function pLogP(p: Tensor, eps: number): Tensor {
  return eps > 0 ? mul(p, log(add(p, eps))) : where(greater(p, 0), mul(p, log(p)), 0);
}

function buildBatch(g: Graph, c: number, dtype: "float32" | "float64", eps: number) {
  const p = softmax(cast(g.input("logits", dtype, ["B", c]), "float64"), -1);
  const pSum = g.input("p_sum", "float64", [c]);
  return { next_p_sum: add(pSum, reduceSum(p, [0])), p_log_p: reduceSum(pLogP(p, eps), [0, 1], true) };
}

function buildFinal(g: Graph, s: number, c: number, eps: number) {
  const pSum = g.input("p_sum", "float64", [s, c]);
  const n = g.input("n", "float64", [s]);
  const meanPLogP = div(g.input("p_log_p", "float64", [s]), n);
  const pBar = div(pSum, reshape(n, [s, 1]));
  return { score: exp(sub(meanPLogP, reduceSum(pLogP(pBar, eps), [1]))) };
}
