// What both quantizers produce, and the dispatch on the config's quantizer kind. Parameters and
// buffers live under `quantize.*`, as in the official state dict.

import type { Tensor } from "../../engine/graph/tensor.js";
import type { TokenizerConfig } from "./config.js";
import { lfqIdsToBits, lookupFreeQuantize } from "./lfq.js";
import { vectorQuantize, vqIdsToLatent } from "./vq.js";

export interface QuantizerLosses {
  /** commitment (+ codebook for VQ) + multiplier * entropy; with no multiplier, the official quantizer_loss. */
  readonly quantizerLoss: Tensor;
  readonly commitmentLoss: Tensor;
  /** VQ only: mean((q - sg(z))^2), which trains the codebook. */
  readonly codebookLoss?: Tensor;
  /** weight * (perSampleEntropy - avgEntropy); 0 outside training or with weight 0. */
  readonly entropyLoss: Tensor;
  readonly perSampleEntropy: Tensor;
  readonly avgEntropy: Tensor;
}

export interface QuantizerOutput {
  /** Straight-through value z + sg(q - z) [B, D, h, w]: forward equals q, gradient flows to z. */
  readonly zQuantized: Tensor;
  /** The quantized latent itself [B, D, h, w] (LFQ: exact +-1 bits), no gradient. */
  readonly latent: Tensor;
  /** Token ids [B, h, w], int64 (LFQ: bit j of the id = [z_j > 0], channel 0 least significant). */
  readonly ids: Tensor;
  readonly losses: QuantizerLosses;
}

export interface QuantizeOptions {
  /** The entropy term only exists in training mode (as in the official module). */
  readonly training: boolean;
  /**
   * Scalar that scales the entropy term inside quantizerLoss: the trainer feeds
   * 1 + max(0, 1 - step / annealing_steps) * annealing_factor (official losses.py). Default 1.
   */
  readonly entropyMultiplier?: Tensor;
}

/** Quantizes encoder output z [B, D, h, w]. Declares `quantize.*`. */
export function quantize(z: Tensor, c: TokenizerConfig, o: QuantizeOptions): QuantizerOutput {
  return z.graph.scope("quantize", () => (c.quantizer.kind === "lfq" ? lookupFreeQuantize(z, c.quantizer, o) : vectorQuantize(z, c.quantizer, o)));
}

/** ids [B, h, w] int64 -> the decoder's input latent [B, D, h, w]. Declares `quantize.*`. */
export function latentFromIds(ids: Tensor, c: TokenizerConfig): Tensor {
  const q = c.quantizer;
  return ids.graph.scope("quantize", () => (q.kind === "lfq" ? lfqIdsToBits(ids, c.tokenSize) : vqIdsToLatent(ids, c.tokenSize, q)));
}
