// Lookup-free quantization (spec 2.5): every latent channel becomes one bit, q = +1 where z > 0
// else -1 (z = 0 gives -1), with the straight-through estimator. A position's id is
// sum_j [q_j > 0] * 2^j, channel 0 being the least significant bit. The codebook is implicit
// (all 2^K sign vectors); its two tables are kept as state-dict buffers for checkpoint parity.

import type { Graph, Tensor } from "../../engine/graph/tensor.js";
import {
  add, cast, div, greater, mod, mul, reduceMean, reduceSum, reshape, square, stopGradient, sub, transpose, unsqueeze,
} from "../../engine/ops/index.js";
import { HostTensor } from "../../engine/host-tensor.js";
import { ShapeError, fmtShape } from "../../engine/errors.js";
import type { LfqConfig } from "./config.js";
import { lfqEntropy } from "./entropy.js";
import type { QuantizeOptions, QuantizerOutput } from "./quantizer.js";

/** `bits_to_indices`: int32 [1, 2, 4, ..., 2^(K-1)]. */
export function bitsToIndicesTable(bits: number): HostTensor {
  return new HostTensor("int32", [bits], Int32Array.from({ length: bits }, (_, j) => 2 ** j));
}

/** `codebook`: float32 [2^K, K], row c = the +-1 bits of c, LSB first. */
export function lfqCodebookTable(bits: number): HostTensor {
  const size = 2 ** bits;
  const data = new Float32Array(size * bits);
  for (let c = 0; c < size; c++) for (let j = 0; j < bits; j++) data[c * bits + j] = (c >> j) & 1 ? 1 : -1;
  return new HostTensor("float32", [size, bits], data);
}

/**
 * Declares both buffers in the current scope and returns bits_to_indices as int64 [1, K, 1, 1].
 * The codebook is declared only so strict loading accounts for it: the sign rule and the
 * factorised entropy never need the (2^K, K) table itself.
 */
function declareBuffers(g: Graph, bits: number): Tensor {
  const powers = g.param("bits_to_indices", [bits], { kind: "value", value: () => bitsToIndicesTable(bits) }, { dtype: "int32", trainable: false });
  g.param("codebook", [2 ** bits, bits], { kind: "value", value: () => lfqCodebookTable(bits) }, { trainable: false });
  return reshape(cast(powers, "int64"), [1, bits, 1, 1]);
}

export function lookupFreeQuantize(z: Tensor, cfg: LfqConfig, o: QuantizeOptions): QuantizerOutput {
  const g = z.graph;
  const bits = z.shape[1];
  if (z.rank !== 4 || typeof bits !== "number") {
    throw new ShapeError({ op: "lookupFreeQuantize", scope: g.scopePath, expected: "z [B, K, h, w] with static K", got: fmtShape(z.shape) });
  }
  const powers = declareBuffers(g, bits);
  const positive = greater(z, 0);
  const latent = sub(mul(cast(positive, z.dtype), 2), 1);
  const ids = reduceSum(mul(cast(positive, "int64"), powers), [1]);

  const commitmentLoss = mul(reduceMean(square(sub(stopGradient(latent), z))), cfg.commitmentCost);
  const zero = g.scalar(0, z.dtype);
  let entropy = { entropyLoss: zero, perSampleEntropy: zero, avgEntropy: zero };
  if (o.training && cfg.entropyLossWeight !== 0) {
    // One row per position: [B, K, h, w] -> [B*h*w, K].
    const rows = reshape(transpose(z, [0, 2, 3, 1]), [-1, bits]);
    const { perSample, avg } = lfqEntropy(rows, cfg.entropyTemperature, cfg.entropyGamma);
    entropy = { entropyLoss: mul(sub(perSample, avg), cfg.entropyLossWeight), perSampleEntropy: perSample, avgEntropy: avg };
  }
  const weightedEntropy = o.entropyMultiplier ? mul(entropy.entropyLoss, o.entropyMultiplier) : entropy.entropyLoss;
  return {
    zQuantized: add(z, stopGradient(sub(latent, z))),
    latent,
    ids,
    losses: { quantizerLoss: add(commitmentLoss, weightedEntropy), commitmentLoss, ...entropy },
  };
}

/** ids [B, h, w] int64 -> bits [B, K, h, w] float32 in {-1, +1} (bit j = floor(id / 2^j) mod 2). */
export function lfqIdsToBits(ids: Tensor, bits: number): Tensor {
  if (ids.dtype !== "int64" || ids.rank !== 3) {
    throw new ShapeError({ op: "lfqIdsToBits", scope: ids.graph.scopePath, expected: "ids int64[B, h, w]", got: `${ids}` });
  }
  const powers = declareBuffers(ids.graph, bits);
  const bit = mod(div(unsqueeze(ids, [1]), powers), 2);
  return sub(mul(cast(bit, "float32"), 2), 1);
}
