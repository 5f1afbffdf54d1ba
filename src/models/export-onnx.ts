// Standalone ONNX files of the three inference graphs, weights embedded (or as ONNX external data
// when they pass 1.8 GB), for any ONNX Runtime or other ONNX consumer with no maskbit code:
//
//   tokenizer-encoder  images float32 [B, C, H, W] in [0, 1]  -> ids int64 [B, h, w], latent float32 [B, K, h, w]
//   tokenizer-decoder  ids int64 [B, h, w]                     -> images float32 [B, C, H, W] (clamped to [0, 1])
//   generator-step     one MaskGIT decoding step (see sampler.ts): tokens int64 [B, L, N] (mask id = 2^(K/N)
//                      where unknown), labels int64 [B], seed int64 [], temperature, randomizeTemperature,
//                      oneMinusProgress and (with guidance) cfgScale float32 [], thresholdIndex int64 [B]
//                      -> next int64 [B, L, N], predicted int64 [B, L, N], ids int64 [B, L], numMasked int64 [],
//                      bits float32 [B, K, h, w]
//
// Shapes are fixed at export (batch, image size): ONNX consumers then need no shape inference.

import { Graph } from "../engine/graph/tensor.js";
import { exportModel, type ExportedModel } from "../engine/onnx/export.js";
import { ConfigError } from "../engine/errors.js";
import type { ParamSource } from "../engine/runtime/session.js";
import { buildDecodeIds, buildEncode } from "./tokenizer/forward.js";
import type { Tokenizer } from "./tokenizer/tokenizer.js";
import type { Generator } from "./generator/generator.js";
import { buildSamplerStep } from "./generator/sampler.js";

export type OnnxGraphName = "tokenizer-encoder" | "tokenizer-decoder" | "generator-step";

export interface OnnxExportOptions {
  /** Batch size baked into the graph (default 1). */
  readonly batch?: number;
  /** Encoder input size in pixels (default: the generator's grid times the stride, else 256 / 32 by channels). */
  readonly size?: number;
  /** generator-step: the doubled batch of classifier-free guidance (default true). */
  readonly guidance?: boolean;
}

export interface OnnxFile extends ExportedModel {
  readonly name: OnnxGraphName;
  /** `${name}.onnx` and, when the weights are external, `${name}.onnx.data`. */
  readonly fileName: string;
}

function positive(op: string, what: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new ConfigError({ op, expected: `${what} as a positive integer`, got: `${v}` });
  return v;
}

function finish(name: OnnxGraphName, g: Graph, outputs: Parameters<typeof exportModel>[1], params: ParamSource, doc: string): OnnxFile {
  const fileName = `${name}.onnx`;
  const model = exportModel(g, outputs, { name: `maskbit-${name}`, embed: params, externalData: { location: `${fileName}.data` }, docString: doc });
  return { ...model, name, fileName };
}

export function exportTokenizerEncoder(tokenizer: Tokenizer, o: OnnxExportOptions & { readonly size: number }): OnnxFile {
  const op = "exportTokenizerEncoder";
  const batch = positive(op, "batch", o.batch ?? 1), size = positive(op, "size", o.size);
  const g = new Graph();
  const { ids, latent } = buildEncode(g.input("images", "float32", [batch, tokenizer.config.numChannels, size, size]), tokenizer.config);
  return finish("tokenizer-encoder", g, { ids, latent }, tokenizer.params, "maskbit tokenizer encoder: images [0,1] -> token ids (channel 0 = least significant bit)");
}

export function exportTokenizerDecoder(tokenizer: Tokenizer, o: OnnxExportOptions & { readonly grid: number }): OnnxFile {
  const op = "exportTokenizerDecoder";
  const batch = positive(op, "batch", o.batch ?? 1), grid = positive(op, "grid", o.grid);
  const g = new Graph();
  const images = buildDecodeIds(g.input("ids", "int64", [batch, grid, grid]), tokenizer.config, { clamp: true });
  return finish("tokenizer-decoder", g, { images }, tokenizer.params, "maskbit tokenizer decoder: token ids -> images clamped to [0,1]");
}

export function exportGeneratorStep(generator: Generator, o: OnnxExportOptions = {}): OnnxFile {
  const batch = positive("exportGeneratorStep", "batch", o.batch ?? 1);
  const { graph, outputs } = buildSamplerStep(generator.config, { batch, guidance: o.guidance ?? true, randomness: "seed" });
  return finish("generator-step", graph, outputs, generator.params, "maskbit generator: one MaskGIT-style decoding step over bit-group tokens");
}

/** All graphs the given models allow, sized consistently (the decoder's grid is the generator's). */
export function exportOnnx(models: { readonly tokenizer?: Tokenizer; readonly generator?: Generator }, o: OnnxExportOptions = {}): OnnxFile[] {
  const { tokenizer, generator } = models;
  if (!tokenizer && !generator) throw new ConfigError({ op: "exportOnnx", expected: "a tokenizer, a generator or both", got: "neither" });
  const out: OnnxFile[] = [];
  if (tokenizer) {
    const grid = generator?.config.tokenGrid ?? Math.ceil((o.size ?? 256) / tokenizer.stride);
    const size = o.size ?? grid * tokenizer.stride;
    out.push(exportTokenizerEncoder(tokenizer, { ...o, size }), exportTokenizerDecoder(tokenizer, { ...o, grid }));
  }
  if (generator) out.push(exportGeneratorStep(generator, o));
  return out;
}
