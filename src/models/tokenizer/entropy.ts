// The quantizers' entropy regulariser (official quantizer_utils.entropy_loss_fn): for affinities
// a[r, c] between R latent rows and N codes, p = softmax(a / T) per row, and
//   perSample = mean_r( -sum_c p[r,c] * log(max(p[r,c], eps)) )
//   avg       = gamma * ( -sum_c pbar[c] * log(max(pbar[c], eps)) ),  pbar = mean_r p[r, .]
// with eps = 1e-5 and zero gradient through the clamp where p < eps. The loss term is
// weight * (perSample - avg): confident per position, diverse over the batch.
//
// entropyFromAffinities does exactly that on an explicit [R, N] table (VQ, or tiny LFQ codebooks).
// lfqEntropy computes the same two numbers for LFQ's implicit 2^K codebook without the [R, 2^K]
// table, which is (B*256) x 262144 at K = 18; see its comment for the (exact) method.

import type { Tensor } from "../../engine/graph/tensor.js";
import {
  add, concat, cumSum, div, gatherElements, log, logSoftmax, matmul, maximum, mul, neg, reduceMean, reduceMeanByAxis, reduceSum, relu, shapeCount,
  slice, softmax, sub, topK, transpose, zerosLike,
} from "../../engine/ops/index.js";
import { HostTensor } from "../../engine/host-tensor.js";
import { allocHostArray, type DType } from "../../engine/graph/dtype.js";

export const ENTROPY_EPS = 1e-5;

export interface EntropyTerms {
  /** Scalar [] : mean over rows of each row's (clamped) entropy. */
  readonly perSample: Tensor;
  /** Scalar [] : gamma times the (clamped) entropy of the row-averaged distribution. */
  readonly avg: Tensor;
}

/**
 * -sum p * log(max(p, eps)) over all axes of p (a probability table), one axis at a time: a
 * single float32 reduction over 2^18 terms loses ~1e-3 relative in ONNX Runtime, two over 2^9
 * each stay near 1e-6.
 */
function clampedEntropy(p: Tensor): Tensor {
  let sum = mul(p, log(maximum(p, ENTROPY_EPS)));
  for (let axis = p.rank - 1; axis >= 0; axis--) sum = reduceSum(sum, [axis]);
  return neg(sum);
}

/** Mean over the rows (tokens of a batch: 65,536 at 256 tokens x 256 images), blocked for float32 precision. */
const rowMean = (perRow: Tensor): Tensor => reduceMeanByAxis(perRow, [0]);

/** The reference formulation on an explicit affinity table a [R, N]. */
export function entropyFromAffinities(a: Tensor, temperature: number, gamma: number): EntropyTerms {
  const p = softmax(mul(a, 1 / temperature), -1);
  const perRow = neg(reduceSum(mul(p, log(maximum(p, ENTROPY_EPS))), [1]));
  return { perSample: rowMean(perRow), avg: mul(clampedEntropy(reduceMean(p, [0])), gamma) };
}

/** Bits of every code of an n-bit group, LSB first, as an [n, 2^n] 0/1 matrix. */
function groupBits(n: number, dtype: DType): HostTensor {
  const size = 2 ** n;
  const data = allocHostArray(dtype, n * size) as Float32Array | Float64Array;
  for (let j = 0; j < n; j++) for (let c = 0; c < size; c++) data[j * size + c] = (c >> j) & 1;
  return new HostTensor(dtype, [n, size], data);
}

interface GroupDistribution {
  /** [R, 2^n] probabilities of the group's codes. */
  readonly p: Tensor;
  /** [R, 2^n] their logs, computed stably (never -inf, even where p underflows to 0). */
  readonly logp: Tensor;
}

/**
 * The marginal of channels [from, to) under p. With codes c = +-1 bits, <z, c> is a sum of
 * per-bit terms, so p is a product of independent per-bit distributions; a group's marginal is
 * a softmax over its own 2^n codes of sum_j x_j * bit_j, x = 4 z / T (the -2 z / T part of each
 * term is the same for every code and cancels).
 */
function groupDistribution(x: Tensor, from: number, to: number): GroupDistribution {
  const logits = matmul(slice(x, [1], [from], [to]), x.graph.constant(groupBits(to - from, x.dtype)));
  return { p: softmax(logits, -1), logp: logSoftmax(logits, -1) };
}

/**
 * Entropy terms of LFQ for rows z [R, K], exactly as entropyFromAffinities on the [R, 2^K]
 * affinities 2 <z, c>, in O(R * 2^(K/2) * K) time and O(R * 2^(K/2) + 2^K) memory.
 *
 * The channels split into a low group (a = floor(K/2) bits) and a high group (b = K - a bits),
 * and p[r, (l, h)] = u[r, l] * v[r, h] with independent group marginals u, v (2^a and 2^b codes).
 *
 * avg: pbar = U^T V / R is the 2^a x 2^b table of the full averaged distribution (a small
 * matmul); its clamped entropy is computed elementwise, exactly as the reference.
 *
 * perSample: the clamp does not factorise, and it matters: at K = 18 a near-uniform row has every
 * p below 1e-5. Write log max(p, eps) = log p + max(0, L - log p), L = log eps. Then per row
 *   H = -sum_l u log u - sum_h v log v - C,   C = sum_{l,h} u_l v_h max(0, t_l - log v_h),
 * t_l = L - log u_l. For each l, the inner sum runs over the h with log v_h < t_l:
 *   sum_h v_h max(0, t_l - log v_h) = t_l * A(t_l) - B(t_l),
 * A(t) = sum_{log v_h < t} v_h, B(t) = sum_{log v_h < t} v_h log v_h: prefix sums over the
 * log v_h in ascending order, read off at each threshold t_l. One ascending sort of the 2^a + 2^b
 * keys [log v, t] per row interleaves the thresholds with the log v_h, so cumulative sums over the
 * sorted row give A and B at every threshold (ties contribute 0 either way). The sort order is a
 * constant of the backward pass; within it C is a smooth expression, so the gradient is exact,
 * including the zero gradient of clamped entries.
 */
export function lfqEntropy(z: Tensor, temperature: number, gamma: number): EntropyTerms {
  const k = z.shape[1] as number;
  const x = mul(z, 4 / temperature);
  const logEps = Math.log(ENTROPY_EPS);
  const rows = shapeCount(z, [0], z.dtype);
  const rowEntropy = (d: GroupDistribution) => neg(reduceSum(mul(d.p, d.logp), [1]));

  if (k === 1) {
    // A single group: the correction sum_c p_c max(0, L - log p_c) is elementwise, no sort needed.
    const d = groupDistribution(x, 0, 1);
    const correction = reduceSum(mul(d.p, relu(sub(logEps, d.logp))), [1]);
    return { perSample: rowMean(sub(rowEntropy(d), correction)), avg: mul(clampedEntropy(reduceMean(d.p, [0])), gamma) };
  }

  const a = Math.floor(k / 2);
  const low = groupDistribution(x, 0, a);
  const high = groupDistribution(x, a, k);

  const pbar = div(matmul(transpose(low.p, [1, 0]), high.p), rows);
  const avg = mul(clampedEntropy(pbar), gamma);

  const t = sub(logEps, low.logp);
  const keys = concat([high.logp, t], 1);
  const [, order] = topK(keys, keys.shape[1] as number, 1, false);
  const sorted = (highPart: Tensor, lowPart: Tensor) => gatherElements(concat([highPart, lowPart], 1), order, 1);
  const noLow = zerosLike(low.p), noHigh = zerosLike(high.p);
  const prefixV = cumSum(sorted(high.p, noLow), 1);
  const prefixVLogV = cumSum(sorted(mul(high.p, high.logp), noLow), 1);
  const u = sorted(noHigh, low.p);
  const thresholds = sorted(noHigh, t);
  const correction = reduceSum(mul(u, sub(mul(thresholds, prefixV), prefixVLogV)), [1]);

  const perRow = sub(add(rowEntropy(low), rowEntropy(high)), correction);
  return { perSample: rowMean(perRow), avg };
}
