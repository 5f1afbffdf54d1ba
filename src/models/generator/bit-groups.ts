// Token ids, bit groups and input bits, all as graph ops on int64 ids (paper §3, spec 3.2).
//
//   id  in [0, 2^K)          a tokenizer token; bit j is latent channel j (LSB first)
//   g_n in [0, C], C = 2^b   group n holds bits [n*b, (n+1)*b) of the id; g_n = C is the mask id
//   bits in {-1, 0, +1}^K    generator input: +-1 per bit, all 0 for a masked group
//
// Bit tests use integer division and remainder by powers of two, which for non-negative values
// equal the official `(x & 2^j) != 0`.

import type { Tensor } from "../../engine/graph/tensor.js";
import { HostTensor } from "../../engine/host-tensor.js";
import { add, cast, div, equal, greater, mod, mul, reduceSum, reshape, transpose, unsqueeze, where } from "../../engine/ops/index.js";
import { ShapeError, fmtShape } from "../../engine/errors.js";

/** How ids split into groups: N groups of b bits (K = N * b). */
export interface GroupLayout {
  readonly groups: number;
  readonly groupBits: number;
}

const powersOfTwo = (x: Tensor, exponents: readonly number[]): Tensor =>
  x.graph.constant(HostTensor.i64(exponents.map((e) => 2 ** e)));

function requireInt64(op: string, x: Tensor, what: string): void {
  if (x.dtype !== "int64") throw new ShapeError({ op, scope: x.graph.scopePath, expected: `${what} as int64`, got: `${x}` });
}

/** ids [..., L] -> groups [..., L, N] with g_n = (id >> n*b) & (2^b - 1). */
export function splitIds(ids: Tensor, layout: GroupLayout): Tensor {
  requireInt64("splitIds", ids, "ids");
  const shifts = powersOfTwo(ids, Array.from({ length: layout.groups }, (_, n) => n * layout.groupBits));
  return mod(div(unsqueeze(ids, [-1]), shifts), 2 ** layout.groupBits);
}

/** groups [..., N] -> ids [...] with id = sum_n g_n << n*b (groups must not hold the mask id). */
export function combineGroups(groups: Tensor, layout: GroupLayout): Tensor {
  requireInt64("combineGroups", groups, "groups");
  if (groups.shape[groups.rank - 1] !== layout.groups) {
    throw new ShapeError({ op: "combineGroups", scope: groups.graph.scopePath, expected: `groups [..., ${layout.groups}]`, got: fmtShape(groups.shape) });
  }
  const shifts = powersOfTwo(groups, Array.from({ length: layout.groups }, (_, n) => n * layout.groupBits));
  return reduceSum(mul(groups, shifts), [-1]);
}

/**
 * groups [B, L, N] -> input bits [B, L, N*b] float32: the b bits of each group value (LSB first)
 * as +-1, or all 0 where the group holds the mask id (= 2^b). `bitValues` [b] holds 2^0..2^(b-1)
 * (the checkpoint's int32 `bits_to_indices` buffer, or any int tensor with those values).
 */
export function groupsToBits(groups: Tensor, bitValues: Tensor, layout: GroupLayout): Tensor {
  requireInt64("groupsToBits", groups, "groups");
  const [b, l, n] = groups.shape;
  if (groups.rank !== 3 || n !== layout.groups || bitValues.rank !== 1 || bitValues.shape[0] !== layout.groupBits) {
    throw new ShapeError({
      op: "groupsToBits", scope: groups.graph.scopePath,
      expected: `groups [B, L, ${layout.groups}] and bit values [${layout.groupBits}]`, got: `${fmtShape(groups.shape)} and ${fmtShape(bitValues.shape)}`,
    });
  }
  const masked = equal(groups, 2 ** layout.groupBits);
  const bit = mod(div(unsqueeze(groups, [-1]), cast(bitValues, "int64")), 2); // [B, L, N, b] in {0, 1}
  const signed = add(mul(cast(bit, "float32"), 2), -1);
  const bits = where(unsqueeze(masked, [-1]), 0, signed);
  return reshape(bits, [b!, l!, layout.groups * layout.groupBits]);
}

/** ids [..., L] -> +-1 bits [..., L, K] (LSB first): the tokenizer's quantized latent channels. */
export function idsToBits(ids: Tensor, tokenBits: number): Tensor {
  requireInt64("idsToBits", ids, "ids");
  const bit = mod(div(unsqueeze(ids, [-1]), powersOfTwo(ids, Array.from({ length: tokenBits }, (_, j) => j))), 2);
  return add(mul(cast(bit, "float32"), 2), -1);
}

/** +-1 bits [..., K] -> ids [...] (a bit counts as 1 where it is > 0). */
export function bitsToIds(bits: Tensor): Tensor {
  const k = bits.shape[bits.rank - 1];
  if (typeof k !== "number") throw new ShapeError({ op: "bitsToIds", scope: bits.graph.scopePath, expected: "a static bit axis", got: fmtShape(bits.shape) });
  const ones = cast(greater(bits, 0), "int64");
  return reduceSum(mul(ones, powersOfTwo(bits, Array.from({ length: k }, (_, j) => j))), [-1]);
}

/** Sequence-major bits [B, L, K] (row-major L = H*W) -> decoder latent [B, K, H, W]. */
export function bitsToLatent(bits: Tensor, grid: number): Tensor {
  const [b, l, k] = bits.shape;
  if (bits.rank !== 3 || l !== grid * grid) {
    throw new ShapeError({ op: "bitsToLatent", scope: bits.graph.scopePath, expected: `bits [B, ${grid * grid}, K]`, got: fmtShape(bits.shape) });
  }
  return transpose(reshape(bits, [b!, grid, grid, k!]), [0, 3, 1, 2]);
}
