// Codebook statistics of a tokenizer evaluation (spec 4.2): per-code counts of the token ids,
// accumulated across batches, then usage = #codes used / 2^K and entropy = sum_c -p_c log2(p_c + 1e-8)
// with p_c = count_c / total over all 2^K codes.

import type { Graph } from "../engine/graph/tensor.js";
import { HostTensor } from "../engine/host-tensor.js";
import type { SessionOptions } from "../engine/runtime/session.js";
import { add, cast, div, fillLike, greater, log, mul, reduceSum, reshape, scatterAdd } from "../engine/ops/index.js";
import { FeedError, ShapeError, fmtShape } from "../engine/errors.js";
import { LazyGraph } from "./graph-runner.js";

const ENTROPY_EPS = 1e-8;

export interface CodebookResult {
  readonly usage: number;
  readonly entropy: number;
}

export class CodebookStats {
  readonly size: number;
  private counts: HostTensor;
  private readonly update: LazyGraph;
  private readonly summary: LazyGraph;

  constructor(readonly bits: number, session: SessionOptions = {}) {
    if (!Number.isInteger(bits) || bits < 1 || bits > 24) throw new ShapeError({ op: "CodebookStats", expected: "bits in 1..24", got: `${bits}` });
    this.size = 2 ** bits;
    this.counts = HostTensor.zeros("float64", [this.size]);
    this.update = new LazyGraph((g) => buildUpdate(g, this.size), session);
    this.summary = new LazyGraph((g) => buildSummary(g, this.size), session);
  }

  /** Counts every id of an int64 tensor of any shape; ids must lie in [0, 2^K). */
  async add(ids: HostTensor): Promise<void> {
    if (ids.dtype !== "int64") throw new FeedError({ op: "CodebookStats.add", expected: "int64 ids", got: `${ids.dtype}${fmtShape(ids.shape)}` });
    // Range check on the host: ScatterND would fail with an opaque message (or write out of bounds).
    for (let i = 0; i < ids.size; i++) {
      const v = ids.at(i);
      if (v < 0 || v >= this.size) throw new FeedError({ op: "CodebookStats.add", expected: `ids in [0, ${this.size})`, got: `${v} at flat index ${i}` });
    }
    if (ids.size === 0) return;
    const out = await this.update.run({ counts: this.counts, ids: ids.reshape([ids.size]) });
    this.counts = out.next_counts!;
  }

  /** Per-code counts [2^K] (float64). */
  get histogram(): HostTensor { return this.counts; }

  async result(): Promise<CodebookResult> {
    const out = await this.summary.run({ counts: this.counts });
    return { usage: out.usage!.at(0), entropy: out.entropy!.at(0) };
  }

  async dispose(): Promise<void> {
    await this.update.dispose();
    await this.summary.dispose();
  }
}

function buildUpdate(g: Graph, size: number) {
  const counts = g.input("counts", "float64", [size]);
  const ids = g.input("ids", "int64", ["N"]);
  return { next_counts: add(counts, scatterAdd(fillLike(ids, 1, "float64"), ids, counts, 0)) };
}

function buildSummary(g: Graph, size: number) {
  const counts = g.input("counts", "float64", [size]);
  const p = div(counts, reduceSum(counts, [0], true));
  const used = reduceSum(cast(greater(counts, 0), "float64"), [0], true);
  const entropy = mul(reduceSum(mul(p, log(add(p, ENTROPY_EPS))), [0], true), -1 / Math.LN2);
  return { usage: div(used, size), entropy: reshape(entropy, [1]) };
}
