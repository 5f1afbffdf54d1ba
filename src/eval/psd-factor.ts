// A factor F with S = F F^T for a symmetric positive semi-definite S, by Cholesky with
// diagonal pivoting (the LAPACK dpstrf idea): at each step the largest remaining diagonal entry
// is eliminated, and the factorisation stops when what remains is at rounding level, so
// rank-deficient covariances (fewer samples than dimensions) factor without failing.
//
// Why JS loops here: float64 factorisation with data-dependent pivoting has no ONNX equivalent.

import { ShapeError } from "../engine/errors.js";

export interface PsdFactor {
  /** Row-major [n, rank]; S ≈ F F^T. */
  readonly f: Float64Array;
  readonly n: number;
  /** Number of pivots above the rounding threshold. */
  readonly rank: number;
  /** The largest diagonal entry left when the factorisation stopped (0 when rank = n). */
  readonly residual: number;
}

/** Columns per panel: the trailing update then runs as dot products over contiguous panel rows. */
const PANEL = 48;

/**
 * Pivoted Cholesky of the symmetric PSD matrix `s` (row-major [n, n], lower triangle used).
 * Stops when every remaining diagonal entry is <= tol (default n * 2^-52 * max diagonal).
 * Blocked: columns are computed a panel at a time (left-looking inside the panel) and the
 * trailing matrix is updated once per panel, which keeps the panel in cache.
 */
export function pivotedCholesky(s: Float64Array, n: number, tol?: number): PsdFactor {
  if (s.length !== n * n) throw new ShapeError({ op: "pivotedCholesky", expected: `a row-major ${n}x${n} matrix`, got: `${s.length} values` });
  // w holds the permuted lower triangle; its first columns become L as the loop advances.
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) w[i * n + j] = s[i * n + j]!;
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  // diag[i]: s_ii minus everything eliminated so far (the pivot candidates).
  const diag = new Float64Array(n);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) {
    const v = s[i * n + i]!;
    if (!Number.isFinite(v)) throw new ShapeError({ op: "pivotedCholesky", expected: "finite entries", got: `${v} on diagonal ${i}` });
    diag[i] = v;
    maxDiag = Math.max(maxDiag, v);
  }
  const threshold = tol ?? n * 2 ** -52 * maxDiag;
  const panel = new Float64Array(n * PANEL);
  let rank = 0, residual = 0, stopped = false;
  for (let k0 = 0; k0 < n && !stopped; k0 += PANEL) {
    const k1 = Math.min(k0 + PANEL, n);
    for (let j = k0; j < k1; j++) {
      let p = j;
      for (let i = j + 1; i < n; i++) if (diag[i]! > diag[p]!) p = i;
      if (!(diag[p]! > threshold)) {
        residual = Math.max(diag[p]!, 0);
        stopped = true;
        break;
      }
      if (p !== j) {
        symmetricSwap(w, n, j, p, perm);
        swapRange(diag, j, p, 1);
        swapRows(panel, j, p, PANEL);
      }
      const c = j - k0, ljj = Math.sqrt(diag[j]!);
      w[j * n + j] = ljj;
      panel[j * PANEL + c] = ljj;
      for (let i = j + 1; i < n; i++) {
        const lij = (w[i * n + j]! - dot(panel, i * PANEL, j * PANEL, c)) / ljj;
        w[i * n + j] = lij;
        panel[i * PANEL + c] = lij;
        diag[i]! -= lij * lij;
      }
      rank = j + 1;
    }
    if (stopped) break;
    // Trailing update W[i, l] -= <panel row i, panel row l> for k1 <= l <= i.
    const cols = k1 - k0;
    for (let i = k1; i < n; i++) {
      const row = i * n, pi = i * PANEL;
      for (let l = k1; l <= i; l++) w[row + l]! -= dot(panel, pi, l * PANEL, cols);
    }
  }
  // F = P L: row perm[i] of F is row i of L, keeping only the rank columns.
  const f = new Float64Array(n * rank);
  for (let i = 0; i < n; i++) {
    const dst = perm[i]! * rank, src = i * n;
    for (let j = 0; j < Math.min(i + 1, rank); j++) f[dst + j] = w[src + j]!;
  }
  return { f, n, rank, residual };
}

/** sum_{c < len} a[x + c] * a[y + c], with four partial sums for instruction-level parallelism. */
function dot(a: Float64Array, x: number, y: number, len: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, c = 0;
  for (; c + 3 < len; c += 4) {
    s0 += a[x + c]! * a[y + c]!;
    s1 += a[x + c + 1]! * a[y + c + 1]!;
    s2 += a[x + c + 2]! * a[y + c + 2]!;
    s3 += a[x + c + 3]! * a[y + c + 3]!;
  }
  for (; c < len; c++) s0 += a[x + c]! * a[y + c]!;
  return s0 + s1 + (s2 + s3);
}

function swapRange(a: Float64Array, x: number, y: number, len: number): void {
  for (let c = 0; c < len; c++) {
    const t = a[x + c]!;
    a[x + c] = a[y + c]!;
    a[y + c] = t;
  }
}

const swapRows = (a: Float64Array, i: number, j: number, width: number): void => swapRange(a, i * width, j * width, width);

/** Exchanges index k and p (k < p) in the lower-triangle storage and in the permutation. */
function symmetricSwap(w: Float64Array, n: number, k: number, p: number, perm: Int32Array): void {
  const at = (i: number, j: number) => (i >= j ? i * n + j : j * n + i);
  const swap = (x: number, y: number) => {
    const t = w[x]!;
    w[x] = w[y]!;
    w[y] = t;
  };
  // Columns already in L (j < k) move with their rows.
  for (let j = 0; j < k; j++) swap(k * n + j, p * n + j);
  swap(k * n + k, p * n + p);
  for (let i = k + 1; i < p; i++) swap(at(i, k), at(p, i));
  for (let i = p + 1; i < n; i++) swap(at(i, k), at(i, p));
  const t = perm[k]!;
  perm[k] = perm[p]!;
  perm[p] = t;
}
