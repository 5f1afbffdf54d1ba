// The Stage I tokenizer's configuration: a typed, readonly description of the architecture and
// its quantizer, the released variants, and the parser for the official YAML `model.vq_model`
// section (also accepted as JSON, e.g. from a checkpoint's metadata). Everything is validated
// here, once, so model code can trust every field.

import { ConfigError } from "../../engine/errors.js";
import { field, loadYaml, type ConfigObject } from "../../config/yaml.js";

/** Lookup-free quantization: K = tokenSize sign bits per position, implicit codebook of 2^K codes. */
export interface LfqConfig {
  readonly kind: "lfq";
  readonly commitmentCost: number;
  readonly entropyLossWeight: number;
  readonly entropyTemperature: number;
  readonly entropyGamma: number;
}

/** Nearest-neighbour lookup in a learned table (the VQGAN+ baselines' `SimpleVectorizer`). */
export interface VqConfig {
  readonly kind: "vq";
  readonly codebookSize: number;
  readonly commitmentCost: number;
  readonly entropyLossWeight: number;
  readonly entropyTemperature: number;
  readonly entropyGamma: number;
  /** L2-normalise latents and codebook rows before the lookup (off in every released config). */
  readonly l2Normalize: boolean;
}

export type QuantizerConfig = LfqConfig | VqConfig;

export interface TokenizerConfig {
  /** Image channels: 3 for RGB, 1 for grayscale. */
  readonly numChannels: number;
  /** Base width; every level uses hiddenChannels * channelMult[i] (GroupNorm needs multiples of 32). */
  readonly hiddenChannels: number;
  readonly channelMult: readonly number[];
  /** Levels; all but the last halve the resolution, so the latent stride is 2^(numResolutions-1). */
  readonly numResolutions: number;
  readonly numResBlocks: number;
  /** Residual blocks per decoder level (official `num_res_blocks_decoder`); defaults to numResBlocks. */
  readonly numResBlocksDecoder?: number;
  /** Single-head self-attention after the encoder's and decoder's mid stage (Taming baseline; bottleneck-attention.ts). Default false. */
  readonly midAttention?: boolean;
  /** Latent channels: K bits for LFQ, the embedding width for VQ. */
  readonly tokenSize: number;
  /** Strided 3x3 conv (true) or 2x2 average pooling (false) for downsampling. */
  readonly sampleWithConv: boolean;
  readonly quantizer: QuantizerConfig;
}

/**
 * LFQ bit counts supported. The state dict carries a (2^K, K) float32 codebook buffer (84 MB at
 * K = 20) and the codebook-average entropy needs a 2^K probability table, so K stops at 20.
 */
export const MAX_TOKEN_BITS = 20;
const GROUPS = 32;

const lfqOfficial: LfqConfig = { kind: "lfq", commitmentCost: 0.25, entropyLossWeight: 0.02, entropyTemperature: 0.01, entropyGamma: 1.0 };
const backbone = { numChannels: 3, hiddenChannels: 128, channelMult: [1, 1, 2, 2, 4], numResolutions: 5, numResBlocks: 2, sampleWithConv: true } as const;
const lfqTokenizer = (bits: number): TokenizerConfig => ({ ...backbone, tokenSize: bits, quantizer: lfqOfficial });
const vqganPlus = (codebookSize: number, tokenSize: number): TokenizerConfig => ({
  ...backbone, tokenSize,
  quantizer: { kind: "vq", codebookSize, commitmentCost: 0.25, entropyLossWeight: 0, entropyTemperature: 0.01, entropyGamma: 1.0, l2Normalize: false },
});

/** configs/tokenizer/maskbit_tokenizer_{K}bit.yaml */
export const tokenizer10bit = lfqTokenizer(10);
export const tokenizer12bit = lfqTokenizer(12);
export const tokenizer14bit = lfqTokenizer(14);
export const tokenizer16bit = lfqTokenizer(16);
export const tokenizer18bit = lfqTokenizer(18);
/** configs/tokenizer/vqgan_plus_{10,12}bit.yaml: 1024 x 256-d and 4096 x 64-d codebooks. */
export const vqganPlus10bit = vqganPlus(1024, 256);
export const vqganPlus12bit = vqganPlus(4096, 64);

/** Token bits of an LFQ tokenizer; null for VQ. */
export const tokenBits = (c: TokenizerConfig): number | null => (c.quantizer.kind === "lfq" ? c.tokenSize : null);
/** Number of distinct token ids: 2^K for LFQ, the table size for VQ. */
export const codebookSize = (c: TokenizerConfig): number => (c.quantizer.kind === "lfq" ? 2 ** c.tokenSize : c.quantizer.codebookSize);
/** Pixels per latent cell along each axis. */
export const latentStride = (c: TokenizerConfig): number => 2 ** (c.numResolutions - 1);
export const decoderResBlocks = (c: TokenizerConfig): number => c.numResBlocksDecoder ?? c.numResBlocks;

const bad = (scope: string, expected: string, got: unknown, hint?: string): ConfigError =>
  new ConfigError({ op: "tokenizerConfig", scope, expected, got: typeof got === "string" ? got : JSON.stringify(got), hint });

const isPositiveInt = (v: number): boolean => Number.isSafeInteger(v) && v >= 1;

/** Throws a ConfigError naming the first invalid field (official snake_case names in `scope`). */
export function validateTokenizerConfig(c: TokenizerConfig): TokenizerConfig {
  for (const [name, v] of [["num_channels", c.numChannels], ["hidden_channels", c.hiddenChannels], ["num_resolutions", c.numResolutions],
    ["num_res_blocks", c.numResBlocks], ["token_size", c.tokenSize]] as const) {
    if (!isPositiveInt(v)) throw bad(name, "a positive integer", v);
  }
  if (c.numResBlocksDecoder !== undefined && !isPositiveInt(c.numResBlocksDecoder)) throw bad("num_res_blocks_decoder", "a positive integer", c.numResBlocksDecoder);
  if (c.hiddenChannels % GROUPS !== 0) {
    throw bad("hidden_channels", `a multiple of ${GROUPS} (GroupNorm uses ${GROUPS} groups)`, c.hiddenChannels);
  }
  if (c.channelMult.length === 0 || !c.channelMult.every(isPositiveInt)) throw bad("channel_mult", "a non-empty list of positive integers", c.channelMult);
  if (c.channelMult.length !== c.numResolutions) {
    throw bad("num_resolutions", `len(channel_mult) = ${c.channelMult.length}`, c.numResolutions,
      "the decoder's first level reads channel_mult[-1], so the two must agree");
  }
  const q = c.quantizer;
  for (const [name, v] of [["commitment_cost", q.commitmentCost], ["entropy_loss_weight", q.entropyLossWeight], ["entropy_gamma", q.entropyGamma]] as const) {
    if (!Number.isFinite(v) || v < 0) throw bad(name, "a finite number >= 0", v);
  }
  if (!(q.entropyTemperature > 0) || !Number.isFinite(q.entropyTemperature)) throw bad("entropy_loss_temperature", "a finite number > 0", q.entropyTemperature);
  if (q.kind === "lfq" && c.tokenSize > MAX_TOKEN_BITS) {
    throw bad("token_size", `between 1 and ${MAX_TOKEN_BITS} bits for lookup-free quantization`, c.tokenSize,
      "the state dict stores a (2^K, K) codebook buffer and the entropy loss a 2^K table");
  }
  if (q.kind === "vq" && (!isPositiveInt(q.codebookSize) || q.codebookSize > 2 ** 31 - 1)) {
    throw bad("codebook_size", "a positive integer below 2^31", q.codebookSize);
  }
  return c;
}

// --- the official YAML layout ------------------------------------------------------------------

const VQ_MODEL_KEYS = [
  "model_class", "quantizer_type", "codebook_size", "token_size", "commitment_cost", "entropy_loss_weight",
  "entropy_loss_temperature", "entropy_gamma", "num_channels", "hidden_channels", "channel_mult",
  "num_resolutions", "num_res_blocks", "num_res_blocks_decoder", "sample_with_conv", "use_l2_normalisation", "mid_attention",
];

/**
 * Parses an official `model.vq_model` section. For lookup-free quantizers `codebook_size` is
 * ignored (the released 14/16/18-bit files say 4096; the model always uses 2^K).
 */
export function parseTokenizerConfig(section: ConfigObject, path = "model.vq_model"): TokenizerConfig {
  const unknown = Object.keys(section).filter((k) => !VQ_MODEL_KEYS.includes(k));
  if (unknown.length) throw bad(path, `keys among ${VQ_MODEL_KEYS.join(", ")}`, unknown.join(", "));
  const modelClass = field.string(section, "model_class", path, "vqgan+");
  if (modelClass !== "vqgan+") {
    throw bad(`${path}.model_class`, '"vqgan+"', modelClass,
      modelClass === "maskgit" ? "the MaskGIT legacy decoder stores decoder.up in reverse; rename decoder.up.i -> up.(n-1-i) and use vqgan+" : undefined);
  }
  const quantizerType = field.string(section, "quantizer_type", path);
  const common = {
    commitmentCost: field.number(section, "commitment_cost", path),
    entropyLossWeight: field.number(section, "entropy_loss_weight", path),
    entropyTemperature: field.number(section, "entropy_loss_temperature", path),
    entropyGamma: field.number(section, "entropy_gamma", path),
  };
  let quantizer: QuantizerConfig;
  if (quantizerType === "lookup-free") {
    if (section.use_l2_normalisation !== undefined) throw bad(`${path}.use_l2_normalisation`, "no such option for lookup-free quantizers", section.use_l2_normalisation);
    quantizer = { kind: "lfq", ...common };
  } else if (quantizerType === "lookup") {
    quantizer = { kind: "vq", codebookSize: field.int(section, "codebook_size", path), ...common, l2Normalize: field.bool(section, "use_l2_normalisation", path, false) };
  } else {
    throw bad(`${path}.quantizer_type`, '"lookup-free" or "lookup"', quantizerType, quantizerType === "vae" ? "the official code does not implement it either" : undefined);
  }
  const decoderBlocks = section.num_res_blocks_decoder === undefined ? {} : { numResBlocksDecoder: field.int(section, "num_res_blocks_decoder", path) };
  const config: TokenizerConfig = {
    numChannels: field.int(section, "num_channels", path),
    hiddenChannels: field.int(section, "hidden_channels", path),
    channelMult: field.ints(section, "channel_mult", path),
    numResolutions: field.int(section, "num_resolutions", path),
    numResBlocks: field.int(section, "num_res_blocks", path),
    ...decoderBlocks,
    ...(field.bool(section, "mid_attention", path, false) ? { midAttention: true } : {}),
    tokenSize: field.int(section, "token_size", path),
    sampleWithConv: field.bool(section, "sample_with_conv", path),
    quantizer,
  };
  try {
    return validateTokenizerConfig(config);
  } catch (e) {
    // Point the error at the YAML path the user edits.
    if (e instanceof ConfigError && e.scope && !e.scope.startsWith(path)) throw bad(`${path}.${e.scope}`, e.expected, e.got, e.hint);
    throw e;
  }
}

/** Reads `model.vq_model` from an official tokenizer YAML file. */
export function loadTokenizerConfig(yamlPath: string): TokenizerConfig {
  return tokenizerConfigFromYaml(loadYaml(yamlPath), yamlPath);
}

/** The tokenizer config of a parsed official YAML recipe (its model.vq_model section). */
export function tokenizerConfigFromYaml(recipe: ConfigObject, where = "<yaml>"): TokenizerConfig {
  return parseTokenizerConfig(field.section(field.section(recipe, "model", ""), "vq_model", "model"), `${where}:model.vq_model`);
}

/** The official `vq_model` section for a config (what checkpoints record in their metadata). */
export function toOfficialSection(c: TokenizerConfig): ConfigObject {
  const q = c.quantizer;
  return {
    model_class: "vqgan+",
    quantizer_type: q.kind === "lfq" ? "lookup-free" : "lookup",
    codebook_size: codebookSize(c),
    token_size: c.tokenSize,
    commitment_cost: q.commitmentCost,
    entropy_loss_weight: q.entropyLossWeight,
    entropy_loss_temperature: q.entropyTemperature,
    entropy_gamma: q.entropyGamma,
    num_channels: c.numChannels,
    hidden_channels: c.hiddenChannels,
    channel_mult: [...c.channelMult],
    num_resolutions: c.numResolutions,
    num_res_blocks: c.numResBlocks,
    ...(c.numResBlocksDecoder !== undefined ? { num_res_blocks_decoder: c.numResBlocksDecoder } : {}),
    ...(c.midAttention ? { mid_attention: true } : {}),
    sample_with_conv: c.sampleWithConv,
    ...(q.kind === "vq" ? { use_l2_normalisation: q.l2Normalize } : {}),
  };
}

/** Parses a config stored as JSON: the official snake_case section (what toOfficialSection writes). */
export function tokenizerConfigFromJson(text: string, source = "config"): TokenizerConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw bad(source, "a JSON object", (e as Error).message);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad(source, "a JSON object", Array.isArray(value) ? "a list" : typeof value);
  return parseTokenizerConfig(value as ConfigObject, source);
}
