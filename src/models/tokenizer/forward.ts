// Graph builders for the whole tokenizer: encoder -> quantizer -> decoder. They only add nodes to
// the caller's graph, so a trainer can put perceptual and adversarial losses on top of xHat and
// differentiate everything at once; the Tokenizer class compiles the same builders for inference.

import { Graph, type ParamSpec, type Tensor } from "../../engine/graph/tensor.js";
import { clamp } from "../../engine/ops/index.js";
import { shapeSize } from "../../engine/host-tensor.js";
import { latentStride, type TokenizerConfig } from "./config.js";
import { encoder } from "./encoder.js";
import { decoder } from "./decoder.js";
import { latentFromIds, quantize, type QuantizeOptions, type QuantizerOutput } from "./quantizer.js";

export interface TokenizerForward extends QuantizerOutput {
  /** Encoder output before quantization [B, D, h, w]. */
  readonly z: Tensor;
  /** Decoder output for zQuantized [B, C, H, W], unclamped (the losses see raw values). */
  readonly xHat: Tensor;
}

/** x [B, C, H, W] in [0, 1]: the official ConvVQModel forward, training or eval. */
export function buildTokenizerForward(x: Tensor, c: TokenizerConfig, o: QuantizeOptions): TokenizerForward {
  const z = encoder(x, c);
  const q = quantize(z, c, o);
  return { z, ...q, xHat: decoder(q.zQuantized, c) };
}

/** Inference encode: x -> { ids [B, h, w] int64, latent [B, D, h, w] } (no losses are built). */
export function buildEncode(x: Tensor, c: TokenizerConfig): { ids: Tensor; latent: Tensor; preQuant: Tensor } {
  const z = encoder(x, c);
  const q = quantize(z, c, { training: false });
  return { ids: q.ids, latent: q.latent, preQuant: z };
}

/** ids [B, h, w] int64 -> images [B, C, h*s, w*s] (official decode_tokens), clamped to [0, 1] on request. */
export function buildDecodeIds(ids: Tensor, c: TokenizerConfig, o: { clamp?: boolean } = {}): Tensor {
  const images = decoder(latentFromIds(ids, c), c);
  return o.clamp ? clamp(images, 0, 1) : images;
}

/**
 * Every parameter and buffer of a tokenizer, in official state-dict order, from a graph built on
 * the smallest input (one latent cell). Nothing is allocated.
 */
export function tokenizerParamSpecs(c: TokenizerConfig): ParamSpec[] {
  const g = new Graph();
  const side = latentStride(c);
  buildTokenizerForward(g.input("x", "float32", [1, c.numChannels, side, side]), c, { training: false });
  // The graph declares quantize.* between encoder and decoder; the official module lists it last.
  const rank = (s: ParamSpec) => (s.key.startsWith("quantize.") ? 1 : 0);
  return [...g.paramSpecs.values()].sort((a, b) => rank(a) - rank(b));
}

/** Trainable parameter count (buffers excluded), e.g. 54,469,005 for the 10-bit tokenizer. */
export function countParameters(c: TokenizerConfig): number {
  return tokenizerParamSpecs(c).filter((s) => s.trainable).reduce((n, s) => n + shapeSize(s.shape), 0);
}
