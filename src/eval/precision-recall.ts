// Improved precision and recall (Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric
// for Assessing Generative Models"): each set of feature vectors estimates its manifold as the
// union of balls around its points, the radius of a point being the distance to its k-th nearest
// neighbour within its own set (the point itself excluded). Then
//   precision = fraction of fake points inside at least one real ball  (fidelity),
//   recall    = fraction of real points inside at least one fake ball  (diversity / coverage).
// The paper compares sets of equal size; with unequal sizes the larger set's balls are smaller.
//
// Pairwise squared distances |a|^2 + |b|^2 - 2 a.b come from a float64 matmul graph run by ONNX
// Runtime on row chunks of one set against the whole other set, so memory stays at
// chunk x N distances (bounded by `maxEntries`), never N x N.

import type { Graph } from "../engine/graph/tensor.js";
import { HostTensor } from "../engine/host-tensor.js";
import type { SessionOptions } from "../engine/runtime/session.js";
import { add, matmul, maximum, mul, reduceSum, square, sub, transpose, unsqueeze } from "../engine/ops/index.js";
import { FeedError, fmtShape } from "../engine/errors.js";
import { LazyGraph } from "./graph-runner.js";

export const DEFAULT_NEIGHBOURS = 3;

export interface ManifoldOptions {
  /** k of the k-th nearest neighbour radius (default 3, as the paper). */
  readonly k?: number;
  /** Upper bound on the distances held at once (chunk rows x set size); default 2^22 (32 MiB). */
  readonly maxEntries?: number;
  readonly session?: SessionOptions;
}

export interface PrecisionRecall {
  readonly precision: number;
  readonly recall: number;
  readonly k: number;
  readonly real: number;
  readonly fake: number;
}

/** Squared Euclidean distances between row chunks of A and all rows of B, in float64. */
export class PairwiseDistances {
  private readonly graph: LazyGraph;

  constructor(session: SessionOptions = {}, private readonly maxEntries = 1 << 22) {
    this.graph = new LazyGraph(buildDistances, session);
  }

  /** Calls `visit(start, rows, d2)` for consecutive row blocks of `a`; d2 is row-major [rows, |b|]. */
  async forEachChunk(a: HostTensor, b: HostTensor, visit: (start: number, rows: number, d2: Float64Array) => void): Promise<void> {
    const [m, d] = checkFeatures("PairwiseDistances", a);
    const [n, db] = checkFeatures("PairwiseDistances", b);
    if (d !== db) throw new FeedError({ op: "PairwiseDistances", expected: `feature sets of one dimension (${d})`, got: `${fmtShape(a.shape)} and ${fmtShape(b.shape)}` });
    if (m === 0 || n === 0) return;
    const chunk = Math.max(1, Math.min(m, Math.floor(this.maxEntries / n)));
    const af = asFloat64(a), bf = a === b ? af : asFloat64(b);
    for (let start = 0; start < m; start += chunk) {
      const rows = Math.min(chunk, m - start);
      const part = new HostTensor("float64", [rows, d], af.data.subarray(start * d, (start + rows) * d));
      const out = await this.graph.run({ a: part, b: bf });
      visit(start, rows, out.d2!.data as Float64Array);
    }
  }

  async dispose(): Promise<void> { await this.graph.dispose(); }
}

/** Squared distance of every row of x to its k-th nearest other row of x. */
export async function kthNeighbourRadii(x: HostTensor, k: number, dist: PairwiseDistances): Promise<Float64Array> {
  const [n] = checkFeatures("kthNeighbourRadii", x);
  if (!(Number.isInteger(k) && k >= 1 && k < n)) {
    throw new FeedError({ op: "kthNeighbourRadii", expected: `1 <= k < the number of points (${n})`, got: `k = ${k}`, hint: "draw more samples or lower k" });
  }
  const radii = new Float64Array(n);
  const best = new Float64Array(k); // the k smallest distances seen, ascending
  await dist.forEachChunk(x, x, (start, rows, d2) => {
    for (let r = 0; r < rows; r++) {
      const i = start + r;
      best.fill(Infinity);
      const row = d2.subarray(r * n, (r + 1) * n);
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const v = row[j]!;
        if (v >= best[k - 1]!) continue;
        let p = k - 1;
        while (p > 0 && best[p - 1]! > v) { best[p] = best[p - 1]!; p--; }
        best[p] = v;
      }
      radii[i] = best[k - 1]!;
    }
  });
  return radii;
}

/** Fraction of the rows of `query` within radius of at least one row of `ref` (squared radii). */
export async function manifoldCoverage(query: HostTensor, ref: HostTensor, refRadii: Float64Array, dist: PairwiseDistances): Promise<number> {
  const [q] = checkFeatures("manifoldCoverage", query);
  const [n] = checkFeatures("manifoldCoverage", ref);
  if (refRadii.length !== n) throw new FeedError({ op: "manifoldCoverage", expected: `${n} radii`, got: `${refRadii.length}` });
  if (q === 0) throw new FeedError({ op: "manifoldCoverage", expected: "at least one query point", got: "none" });
  let inside = 0;
  await dist.forEachChunk(query, ref, (_start, rows, d2) => {
    for (let r = 0; r < rows; r++) {
      const row = d2.subarray(r * n, (r + 1) * n);
      for (let j = 0; j < n; j++) {
        if (row[j]! <= refRadii[j]!) { inside++; break; }
      }
    }
  });
  return inside / q;
}

/** Precision and recall of `fake` against `real` features ([N, d] each). */
export async function precisionRecall(real: HostTensor, fake: HostTensor, o: ManifoldOptions = {}): Promise<PrecisionRecall> {
  const k = o.k ?? DEFAULT_NEIGHBOURS;
  const dist = new PairwiseDistances(o.session ?? {}, o.maxEntries);
  try {
    const realRadii = await kthNeighbourRadii(real, k, dist);
    const fakeRadii = await kthNeighbourRadii(fake, k, dist);
    return {
      precision: await manifoldCoverage(fake, real, realRadii, dist),
      recall: await manifoldCoverage(real, fake, fakeRadii, dist),
      k, real: real.shape[0]!, fake: fake.shape[0]!,
    };
  } finally {
    await dist.dispose();
  }
}

/** The first `n` rows of a [N, d] feature matrix (a view, no copy). */
export function firstRows(x: HostTensor<Float32Array>, n: number): HostTensor<Float32Array> {
  const [rows, d] = x.shape as [number, number];
  const m = Math.min(n, rows);
  return new HostTensor("float32", [m, d], x.data.subarray(0, m * d));
}

function checkFeatures(op: string, x: HostTensor): [number, number] {
  if (x.shape.length !== 2 || (x.dtype !== "float32" && x.dtype !== "float64")) {
    throw new FeedError({ op, expected: "float32 or float64 features [N, d]", got: `${x.dtype}${fmtShape(x.shape)}` });
  }
  return [x.shape[0]!, x.shape[1]!];
}

function asFloat64(x: HostTensor): HostTensor<Float64Array> {
  return (x.dtype === "float64" ? x : new HostTensor("float64", x.shape, Float64Array.from(x.data as Float32Array))) as HostTensor<Float64Array>;
}

function buildDistances(g: Graph) {
  const a = g.input("a", "float64", ["M", "D"]);
  const b = g.input("b", "float64", ["N", "D"]);
  const aa = reduceSum(square(a), [1], true); // [M, 1]
  const bb = unsqueeze(reduceSum(square(b), [1]), [0]); // [1, N]
  // Rounding can push a true 0 slightly negative; distances are clamped at 0.
  return { d2: maximum(sub(add(aa, bb), mul(matmul(a, transpose(b, [1, 0])), 2)), 0) };
}
