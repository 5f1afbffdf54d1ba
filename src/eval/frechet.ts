// The Fréchet distance between two Gaussians, as the FID uses it:
//   |mu1 - mu2|^2 + tr(s1) + tr(s2) - 2 tr(sqrtm(s1 s2)),  all in float64.
//
// tr(sqrtm(s1 s2)) without a general (Schur-based) matrix square root: s1 s2 has the same
// eigenvalues as F^T s2 F for any factor s1 = F F^T (AB and BA share their spectrum), and
// F^T s2 F is symmetric PSD, so tr(sqrtm(s1 s2)) = sum_i sqrt(lambda_i(F^T s2 F)). F comes from
// a pivoted Cholesky of s1 (cheaper than sqrt(s1), which would need all eigenvectors of s1, and
// it tolerates rank deficiency); the eigenvalues come from a symmetric tridiagonal QL solve, and
// rounding-level negative eigenvalues are clamped to 0. The O(n^3) products run in ONNX Runtime.
//
// Singular products: the official evaluator (scipy sqrtm) retries with eps*I added to both
// covariances when sqrtm(s1 s2) is not finite, which happens when the product is singular. Here
// the product is declared singular when s1 is rank-deficient or F^T s2 F has an eigenvalue at
// rounding level, and the same eps offset is then applied (reported in `offsetApplied`).

import type { Graph } from "../engine/graph/tensor.js";
import { HostTensor } from "../engine/host-tensor.js";
import type { SessionOptions } from "../engine/runtime/session.js";
import { add, gather, matmul, mul, reduceSum, reshape, square, sub, transpose } from "../engine/ops/index.js";
import { ShapeError, fmtShape } from "../engine/errors.js";
import { runGraphOnce } from "./graph-runner.js";
import { pivotedCholesky } from "./psd-factor.js";
import { tridiagonalEigen, tridiagonalize } from "./symmetric-eigen.js";
import type { GaussianStats } from "./feature-stats.js";

export interface FrechetOptions {
  /** Diagonal offset for singular products (the official evaluator's eps). */
  readonly eps?: number;
  readonly session?: SessionOptions;
}

export interface FrechetResult {
  readonly fid: number;
  /** |mu1 - mu2|^2 */
  readonly meanTerm: number;
  readonly trace1: number;
  readonly trace2: number;
  /** tr(sqrtm(s1 s2)), after the eps offset when one was applied. */
  readonly traceSqrtProduct: number;
  readonly offsetApplied: boolean;
}

export interface TraceSqrtResult {
  readonly value: number;
  /** s1 s2 is singular to rounding (s1 rank-deficient or a zero eigenvalue of the product). */
  readonly singular: boolean;
  /** Eigenvalues of F^T s2 F (ascending, unclamped): the spectrum of s1 s2. */
  readonly eigenvalues: Float64Array;
}

const OFFICIAL_EPS = 1e-6;

export async function frechetDistance(a: GaussianStats, b: GaussianStats, opts: FrechetOptions = {}): Promise<FrechetResult> {
  const n = checkStats("frechetDistance", a, b);
  const terms = await runGraphOnce((g) => buildTerms(g, n), { mu1: a.mu, mu2: b.mu, s1: a.sigma, s2: b.sigma }, opts.session);
  const [meanTerm, trace1, trace2] = ["mean_term", "trace1", "trace2"].map((k) => terms[k]!.at(0)) as [number, number, number];
  let tsp = await traceSqrtProduct(a.sigma.data, b.sigma.data, n, opts.session);
  let offsetApplied = false;
  if (tsp.singular) {
    const eps = opts.eps ?? OFFICIAL_EPS;
    tsp = await traceSqrtProduct(withDiagonalOffset(a.sigma.data, n, eps), withDiagonalOffset(b.sigma.data, n, eps), n, opts.session);
    offsetApplied = true;
  }
  // Same association as the official code: ((|d|^2 + tr1) + tr2) - 2 tr(covmean).
  const fid = meanTerm + trace1 + trace2 - 2 * tsp.value;
  return { fid, meanTerm, trace1, trace2, traceSqrtProduct: tsp.value, offsetApplied };
}

/** tr(sqrtm(s1 s2)) for symmetric PSD s1, s2 (row-major [n, n], float64). */
export async function traceSqrtProduct(s1: Float64Array, s2: Float64Array, n: number, session: SessionOptions = {}): Promise<TraceSqrtResult> {
  const factor = pivotedCholesky(s1, n);
  const r = factor.rank;
  if (r === 0) return { value: 0, singular: n > 0, eigenvalues: new Float64Array(0) };
  const out = await runGraphOnce((g) => buildProjected(g, n, r), {
    f: new HostTensor("float64", [n, r], factor.f),
    s2: new HostTensor("float64", [n, n], s2),
  }, session);
  const values = tridiagonalEigen(tridiagonalize(out.m!.data as Float64Array, r)).sort();
  const top = Math.max(Math.abs(values[0]!), Math.abs(values[r - 1]!));
  const roundingLevel = r * 2 ** -52 * top;
  let value = 0;
  for (const v of values) value += Math.sqrt(Math.max(v, 0));
  return { value, singular: r < n || values[0]! <= roundingLevel, eigenvalues: values };
}

function checkStats(op: string, a: GaussianStats, b: GaussianStats): number {
  const n = a.mu.shape[0]!;
  for (const [name, s] of [["a", a], ["b", b]] as const) {
    const ok = s.mu.dtype === "float64" && s.sigma.dtype === "float64" && s.mu.shape.length === 1 && s.mu.shape[0] === n
      && s.sigma.shape.length === 2 && s.sigma.shape[0] === n && s.sigma.shape[1] === n;
    if (!ok) throw new ShapeError({ op, scope: name, expected: `float64 mu [${n}] and sigma [${n}, ${n}]`, got: `mu ${s.mu.dtype}${fmtShape(s.mu.shape)}, sigma ${s.sigma.dtype}${fmtShape(s.sigma.shape)}` });
  }
  return n;
}

function withDiagonalOffset(s: Float64Array, n: number, eps: number): Float64Array {
  const out = Float64Array.from(s);
  for (let i = 0; i < n; i++) out[i * n + i]! += eps;
  return out;
}

function buildTerms(g: Graph, n: number) {
  const mu1 = g.input("mu1", "float64", [n]), mu2 = g.input("mu2", "float64", [n]);
  const s1 = g.input("s1", "float64", [n, n]), s2 = g.input("s2", "float64", [n, n]);
  const diagIdx = g.constant(HostTensor.i64(Array.from({ length: n }, (_, i) => i * (n + 1)), [n]));
  const trace = (s: typeof s1) => reduceSum(gather(reshape(s, [n * n]), diagIdx, 0), [0], true);
  return { mean_term: reduceSum(square(sub(mu1, mu2)), [0], true), trace1: trace(s1), trace2: trace(s2) };
}

/** M = F^T s2 F, symmetrised so rounding cannot make it slightly asymmetric. */
function buildProjected(g: Graph, n: number, r: number) {
  const f = g.input("f", "float64", [n, r]);
  const s2 = g.input("s2", "float64", [n, n]);
  const m = matmul(transpose(f, [1, 0]), matmul(s2, f));
  return { m: mul(add(m, transpose(m, [1, 0])), 0.5) };
}
