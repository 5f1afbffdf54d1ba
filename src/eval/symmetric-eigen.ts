// Eigenvalues (and optionally eigenvectors) of a real symmetric matrix in float64: Householder
// reduction to tridiagonal form, then the implicit QL iteration with Wilkinson shifts.
//
// Why JS loops here: this is float64 dense linear algebra with no ONNX equivalent (ONNX has no
// eigensolver), and the FID needs it in float64. The loops are written row-major and
// contiguous so V8 keeps them fast: a 2048x2048 values-only solve takes a few seconds.

import { ShapeError } from "../engine/errors.js";

/** A symmetric tridiagonal matrix: `diag` [n], `off` [n] with off[i] coupling i and i+1 (off[n-1] = 0). */
export interface Tridiagonal {
  readonly diag: Float64Array;
  readonly off: Float64Array;
  /** Q with A = Q T Q^T, row-major [n, n]; only when requested. */
  readonly q?: Float64Array;
}

export interface EigenResult {
  /** Ascending eigenvalues [n]. */
  readonly values: Float64Array;
  /** Row i is the unit eigenvector of values[i] (row-major [n, n]); only when requested. */
  readonly vectors?: Float64Array;
}

function checkSquare(op: string, a: Float64Array, n: number): void {
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n) {
    throw new ShapeError({ op, expected: `a row-major ${n}x${n} matrix (${n * n} values)`, got: `${a.length} values` });
  }
}

/**
 * Householder tridiagonalisation of the symmetric matrix `a` (row-major [n, n], read only; only
 * its lower triangle is used). Step k reflects column k below the subdiagonal onto e_{k+1} and
 * changes the trailing block B to B - v w^T - w v^T. That update is deferred by one step and
 * fused with the next step's product B v, so each step reads and writes the trailing lower
 * triangle once instead of twice (the loops are bound by memory and loop overhead, not flops).
 */
export function tridiagonalize(a: Float64Array, n: number, wantQ = false): Tridiagonal {
  checkSquare("tridiagonalize", a, n);
  const m = Float64Array.from(a);
  const diag = new Float64Array(n), off = new Float64Array(n);
  const betas = new Float64Array(n);
  // (v, p) are this step's reflector and product; (pv, pw) the previous step's pending update.
  let v = new Float64Array(n), p = new Float64Array(n);
  let pv = new Float64Array(n), pw = new Float64Array(n);
  for (let k = 0; k + 2 < n; k++) {
    // Bring column k (and the diagonal) up to date with the pending update.
    for (let i = k; i < n; i++) m[i * n + k]! -= pv[i]! * pw[k]! + pw[i]! * pv[k]!;
    diag[k] = m[k * n + k]!;
    // x = column k below the diagonal; scaled so the norm cannot overflow or underflow.
    let scale = 0;
    for (let i = k + 1; i < n; i++) scale = Math.max(scale, Math.abs(m[i * n + k]!));
    let beta = 0, alpha = 0;
    v.fill(0);
    if (scale > 0) {
      let norm2 = 0;
      for (let i = k + 1; i < n; i++) {
        const xi = m[i * n + k]! / scale;
        v[i] = xi;
        norm2 += xi * xi;
      }
      const x0 = v[k + 1]!;
      // alpha has the opposite sign of x0 so that v0 = x0 - alpha does not cancel.
      alpha = x0 >= 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
      v[k + 1] = x0 - alpha;
      beta = 2 / (norm2 - x0 * x0 + v[k + 1]! * v[k + 1]!);
    }
    off[k] = alpha * scale;
    fusedUpdateProduct(m, n, k + 1, pv, pw, v, p);
    let vtp = 0;
    for (let i = k + 1; i < n; i++) {
      p[i]! *= beta;
      vtp += v[i]! * p[i]!;
    }
    // w = p - (beta/2)(v^T p) v, reusing p.
    const half = 0.5 * beta * vtp;
    for (let i = k + 1; i < n; i++) p[i]! -= half * v[i]!;
    // Keep v (in the now-dead column k) and beta for accumulating Q.
    for (let i = k + 1; i < n; i++) m[i * n + k] = v[i]!;
    betas[k] = beta;
    [pv, v] = [v, pv];
    [pw, p] = [p, pw];
  }
  // The last 2x2 block, after the pending update.
  const last = Math.max(n - 2, 0);
  for (let i = last; i < n; i++) for (let j = last; j <= i; j++) m[i * n + j]! -= pv[i]! * pw[j]! + pw[i]! * pv[j]!;
  if (n >= 2) {
    diag[n - 2] = m[(n - 2) * n + n - 2]!;
    off[n - 2] = m[(n - 1) * n + n - 2]!;
  }
  if (n >= 1) diag[n - 1] = m[(n - 1) * n + n - 1]!;
  off[Math.max(n - 1, 0)] = 0;
  return wantQ ? { diag, off, q: accumulateQ(m, betas, n) } : { diag, off };
}

/**
 * On the trailing lower triangle (indices >= s): B -= pv pw^T + pw pv^T, then p = B v, in one
 * pass. Row i of the triangle serves both p_i (row dot product) and p_j += b_ij v_i (symmetry).
 * Rows go in pairs so each load of pv[j], pw[j], v[j], p[j] serves two matrix entries.
 */
function fusedUpdateProduct(m: Float64Array, n: number, s: number, pv: Float64Array, pw: Float64Array, v: Float64Array, p: Float64Array): void {
  p.fill(0);
  let i = s;
  for (; i + 1 < n; i += 2) {
    const r0 = i * n, r1 = r0 + n;
    const v0 = v[i]!, pv0 = pv[i]!, pw0 = pw[i]!;
    const v1 = v[i + 1]!, pv1 = pv[i + 1]!, pw1 = pw[i + 1]!;
    let acc0 = 0, acc1 = 0;
    for (let j = s; j < i; j++) {
      const pvj = pv[j]!, pwj = pw[j]!, vj = v[j]!;
      const b0 = m[r0 + j]! - (pv0 * pwj + pw0 * pvj);
      const b1 = m[r1 + j]! - (pv1 * pwj + pw1 * pvj);
      m[r0 + j] = b0;
      m[r1 + j] = b1;
      acc0 += b0 * vj;
      acc1 += b1 * vj;
      p[j]! += b0 * v0 + b1 * v1;
    }
    // The 2x2 diagonal block: (i, i), (i+1, i), (i+1, i+1).
    const d0 = m[r0 + i]! - 2 * pv0 * pw0;
    const o = m[r1 + i]! - (pv1 * pw0 + pw1 * pv0);
    const d1 = m[r1 + i + 1]! - 2 * pv1 * pw1;
    m[r0 + i] = d0;
    m[r1 + i] = o;
    m[r1 + i + 1] = d1;
    p[i]! += acc0 + d0 * v0 + o * v1;
    p[i + 1]! += acc1 + o * v0 + d1 * v1;
  }
  if (i < n) {
    const row = i * n, vi = v[i]!, pvi = pv[i]!, pwi = pw[i]!;
    let acc = 0;
    for (let j = s; j < i; j++) {
      const b = m[row + j]! - (pvi * pw[j]! + pwi * pv[j]!);
      m[row + j] = b;
      acc += b * v[j]!;
      p[j]! += b * vi;
    }
    const bii = m[row + i]! - 2 * pvi * pwi;
    m[row + i] = bii;
    p[i]! += acc + bii * vi;
  }
}

/** Q = H_0 H_1 ... H_{n-3}, built from the right so each reflector touches only its trailing block. */
function accumulateQ(m: Float64Array, betas: Float64Array, n: number): Float64Array {
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  const t = new Float64Array(n);
  for (let k = n - 3; k >= 0; k--) {
    const beta = betas[k]!;
    if (beta === 0) continue;
    // Rows/cols <= k of the partial product are still the identity, so only the block k+1.. changes.
    t.fill(0, k + 1, n);
    for (let i = k + 1; i < n; i++) {
      const vi = m[i * n + k]!, row = i * n;
      for (let j = k + 1; j < n; j++) t[j]! += vi * q[row + j]!;
    }
    for (let i = k + 1; i < n; i++) {
      const f = beta * m[i * n + k]!, row = i * n;
      for (let j = k + 1; j < n; j++) q[row + j]! -= f * t[j]!;
    }
  }
  return q;
}

const EPS = 2 ** -52;
const MAX_SWEEPS_PER_VALUE = 60;

/**
 * Eigenvalues of a symmetric tridiagonal matrix by implicit QL with Wilkinson shifts. When `zt`
 * (row-major [n, n]) is given, every rotation acting on indices (i, i+1) is applied to its rows i
 * and i+1, so rows of Q^T become rows of (QZ)^T: eigenvectors stored as rows, contiguous updates.
 * Returns the eigenvalues unsorted (aligned with the rows of zt).
 */
export function tridiagonalEigen(t: Tridiagonal, zt?: Float64Array): Float64Array {
  const n = t.diag.length;
  const d = Float64Array.from(t.diag), e = Float64Array.from(t.off);
  if (n > 0) e[n - 1] = 0;
  // A coupling is negligible against the whole matrix, not only its two diagonal neighbours:
  // next to eigenvalues near 0 a neighbour-relative test asks for couplings below the rounding
  // of the rest of the matrix, which the sweeps cannot reach (an FID covariance with eigenvalues
  // of 1e-12 next to 2.0 stalled that way). The tridiagonalisation already perturbs every
  // eigenvalue by about EPS * norm, so the looser test costs no accuracy.
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(d[i]!) + Math.abs(e[i]!) + (i > 0 ? Math.abs(e[i - 1]!) : 0));
  if (!Number.isFinite(norm)) throw new ShapeError({ op: "tridiagonalEigen", expected: "finite diagonal and off-diagonal entries", got: `${norm} among them` });
  const negligible = EPS * norm;
  for (let l = 0; l < n; l++) {
    for (let sweep = 0; ; sweep++) {
      // Deflate at the first negligible coupling below l.
      let m = l;
      while (m < n - 1 && Math.abs(e[m]!) > negligible) m++;
      if (m === l) break;
      if (sweep === MAX_SWEEPS_PER_VALUE) {
        throw new ShapeError({ op: "tridiagonalEigen", expected: `convergence within ${MAX_SWEEPS_PER_VALUE} QL sweeps per eigenvalue`, got: `no convergence at index ${l} of ${n}` });
      }
      // Wilkinson shift from the leading 2x2 block, folded into the first rotation.
      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
      let r = Math.hypot(g, 1);
      g = d[m]! - d[l]! + e[l]! / (g + (g >= 0 ? r : -r));
      let s = 1, c = 1, p = 0;
      let i = m - 1;
      for (; i >= l; i--) {
        const f = s * e[i]!, b = c * e[i]!;
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // The bulge vanished (underflow): restart on the split-off block.
          d[i + 1]! -= p;
          e[m] = 0;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1]! - p;
        r = (d[i]! - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        if (zt) rotateRows(zt, n, i, c, s);
      }
      if (r === 0 && i >= l) continue;
      d[l]! -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
  return d;
}

/** rows (i, i+1) <- (c*z_i - s*z_{i+1}, s*z_i + c*z_{i+1}). */
function rotateRows(zt: Float64Array, n: number, i: number, c: number, s: number): void {
  const a = i * n, b = (i + 1) * n;
  for (let k = 0; k < n; k++) {
    const zi = zt[a + k]!, zj = zt[b + k]!;
    zt[b + k] = s * zi + c * zj;
    zt[a + k] = c * zi - s * zj;
  }
}

/**
 * Eigen-decomposition of the symmetric matrix `a` (row-major [n, n]; the lower triangle is used).
 * Eigenvalues come back ascending; with `vectors`, row i of the result is the eigenvector of values[i].
 */
export function symmetricEigen(a: Float64Array, n: number, opts: { vectors?: boolean } = {}): EigenResult {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!)) throw new ShapeError({ op: "symmetricEigen", expected: "finite matrix entries", got: `${a[i]} at index ${i}` });
  }
  const t = tridiagonalize(a, n, opts.vectors ?? false);
  if (!t.q) return { values: tridiagonalEigen(t).sort() };
  const zt = transposeSquare(t.q, n);
  const raw = tridiagonalEigen(t, zt);
  const order = Array.from(raw.keys()).sort((x, y) => raw[x]! - raw[y]!);
  const values = new Float64Array(n), vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = raw[src]!;
    vectors.set(zt.subarray(src * n, (src + 1) * n), dst * n);
  });
  return { values, vectors };
}

function transposeSquare(a: Float64Array, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = a[i * n + j]!;
  return t;
}
