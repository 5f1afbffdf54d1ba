// The Stage II generator's configuration: architecture, training objective and sampling defaults,
// as one plain readonly object. The official YAML (`model.mlm_model`, `model.vq_model`,
// `losses.mlm`, `dataset.preprocessing`) is parsed and validated here, once; model code only ever
// sees a GeneratorConfig. Field names follow the paper's notation where one exists (K, N, C).

import { ConfigError } from "../../engine/errors.js";
import { field, loadYaml, type ConfigObject, type ConfigValue } from "../../config/yaml.js";

/** "lfq_bert": MaskBit (bits in, Linear K->D). "bert": MaskGIT-style learned embedding per group. */
export type GeneratorArch = "lfq_bert" | "bert";
/** Masking-ratio schedules: r in [0, 1) (training draw) or progress in (0, 1] (sampling) -> ratio. */
export type MaskSchedule = "arccos" | "linear" | "square" | "cosine" | "root";
export type GuidanceAnnealing = "cosine" | "linear" | "none";

export interface GeneratorConfig {
  readonly arch: GeneratorArch;
  /** K: bits per token (LFQ token_size, or log2 of a VQ codebook size). */
  readonly tokenBits: number;
  /** N: groups each token is split into (official `codebook_splits`); K % N == 0. */
  readonly groups: number;
  readonly hiddenDim: number;
  readonly depth: number;
  readonly heads: number;
  readonly mlpDim: number;
  /** Dropout on embeddings, attention probabilities, attention output and MLP output. */
  readonly dropout: number;
  /** Pre-LN blocks plus a final LayerNorm; every released model is post-LN (false). */
  readonly usePrenorm: boolean;
  /** Real classes; index numClasses is the "null" class used for CFG and label dropout. */
  readonly numClasses: number;
  /** Tokens per side of the latent grid (image size / tokenizer stride); seqLen = tokenGrid^2. */
  readonly tokenGrid: number;
  readonly training: GeneratorTrainingConfig;
  readonly sampling: SamplingDefaults;
}

export interface GeneratorTrainingConfig {
  readonly classLabelDropout: number;
  readonly labelSmoothing: number;
  readonly maskSchedule: MaskSchedule;
  /** Multiply the loss by N (official `sum_splits`; false in every release). */
  readonly sumSplits: boolean;
  /** Optimise the CE of masked slots only (paper wording); the official code averages all slots (false). */
  readonly maskedOnlyLoss: boolean;
}

export interface SamplingDefaults {
  readonly steps: number;
  readonly guidanceScale: number;
  readonly guidanceAnnealing: GuidanceAnnealing;
  readonly scalePow: number;
  /** Gumbel-noise temperature on the confidence scores, annealed by (1 - progress). */
  readonly randomizeTemperature: number;
  readonly softmaxTemperature: number;
  /** Replace softmaxTemperature by 0.5 + 0.8 (1 - progress) (off in every release). */
  readonly samplingAnnealing: boolean;
  readonly maskSchedule: MaskSchedule;
}

// --- derived sizes ---------------------------------------------------------------------------

/** b = K / N bits per group. */
export const groupBits = (c: GeneratorConfig): number => c.tokenBits / c.groups;
/** C = 2^b values per group. */
export const groupVocab = (c: GeneratorConfig): number => 2 ** groupBits(c);
/** The mask id M = C (one past the last group value). */
export const maskId = (c: GeneratorConfig): number => groupVocab(c);
export const seqLen = (c: GeneratorConfig): number => c.tokenGrid * c.tokenGrid;
/** Index of the "null" (dropped) class. */
export const nullClass = (c: GeneratorConfig): number => c.numClasses;
/** S = L * N maskable (position, group) slots. */
export const numSlots = (c: GeneratorConfig): number => seqLen(c) * c.groups;

// --- validation --------------------------------------------------------------------------------

const ARCHS: readonly GeneratorArch[] = ["lfq_bert", "bert"];
const SCHEDULES: readonly MaskSchedule[] = ["arccos", "linear", "square", "cosine", "root"];
const ANNEALINGS: readonly GuidanceAnnealing[] = ["cosine", "linear", "none"];

/** Most decoding steps a config may ask for. */
export const MAX_SAMPLING_STEPS = 4096;

const bad = (scope: string, expected: string, got: unknown): ConfigError =>
  // String() for numbers: JSON would print NaN and Infinity as null.
  new ConfigError({ op: "generatorConfig", scope, expected, got: typeof got === "string" || typeof got === "number" ? String(got) : JSON.stringify(got) });

function positiveInt(scope: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw bad(scope, "a positive integer", v);
}
function probability(scope: string, v: number, closed = false): void {
  if (!(v >= 0 && (closed ? v <= 1 : v < 1))) throw bad(scope, closed ? "a value in [0, 1]" : "a value in [0, 1)", v);
}
function oneOf<T extends string>(scope: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== "string" || !allowed.includes(v as T)) throw bad(scope, `one of ${allowed.join(", ")}`, v);
  return v as T;
}

/** Checks every invariant the model relies on and returns the config unchanged (frozen). */
export function validateGeneratorConfig(c: GeneratorConfig): GeneratorConfig {
  oneOf("arch", c.arch, ARCHS);
  for (const k of ["tokenBits", "groups", "hiddenDim", "depth", "heads", "mlpDim", "numClasses", "tokenGrid"] as const) positiveInt(k, c[k]);
  if (c.tokenBits % c.groups !== 0) {
    throw bad("groups", `a divisor of tokenBits ${c.tokenBits} (codebook_splits must split the bits evenly)`, c.groups);
  }
  // Group values travel as int64 and index float32 tables; 2^24 keeps the vocab exactly representable.
  if (groupBits(c) > 24) throw bad("groups", `at most 24 bits per group, got K/N = ${c.tokenBits}/${c.groups}`, groupBits(c));
  if (c.hiddenDim % c.heads !== 0) throw bad("heads", `a divisor of hiddenDim ${c.hiddenDim}`, c.heads);
  probability("dropout", c.dropout);
  const t = c.training;
  probability("training.classLabelDropout", t.classLabelDropout, true);
  probability("training.labelSmoothing", t.labelSmoothing, true);
  oneOf("training.maskSchedule", t.maskSchedule, SCHEDULES);
  const s = c.sampling;
  positiveInt("sampling.steps", s.steps);
  // A bound on the work one call may ask for (a hostile or mistyped value would otherwise run for
  // hours); far above the paper's schedules. Steps beyond the maskable slots are allowed, as the
  // official loop allows them (they resample the last masked slot).
  if (s.steps > MAX_SAMPLING_STEPS) throw bad("sampling.steps", `at most ${MAX_SAMPLING_STEPS} (the paper's schedules use 64-256)`, s.steps);
  for (const k of ["guidanceScale", "scalePow", "randomizeTemperature"] as const) {
    if (!Number.isFinite(s[k]) || s[k] < 0) throw bad(`sampling.${k}`, "a finite number >= 0", s[k]);
  }
  if (!(s.softmaxTemperature > 0)) throw bad("sampling.softmaxTemperature", "a number > 0", s.softmaxTemperature);
  oneOf("sampling.guidanceAnnealing", s.guidanceAnnealing, ANNEALINGS);
  oneOf("sampling.maskSchedule", s.maskSchedule, SCHEDULES);
  return deepFreeze(c);
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v && typeof v === "object" && !Object.isFrozen(v)) deepFreeze(v);
  return Object.freeze(o);
}

// --- the official YAML -------------------------------------------------------------------------

/** Every key an official `model.mlm_model` section may hold (mask_token is written by the trainer). */
const MLM_MODEL_KEYS = new Set([
  "model_cls", "hidden_dim", "depth", "heads", "mlp_dim", "dropout", "guidance_scale", "guidance_annealing", "num_steps",
  "train_mask_schedule_strategy", "gen_mask_schedule_strategy", "softmax_temperature", "randomize_temperature",
  "class_label_dropout", "scale_pow", "use_sampling_annealing", "codebook_splits", "use_prenorm", "nclass", "mask_token",
]);
const MLM_LOSS_KEYS = new Set(["label_smoothing", "sum_splits"]);

function rejectUnknown(section: ConfigObject, known: ReadonlySet<string>, path: string): void {
  for (const key of Object.keys(section)) {
    if (!known.has(key)) {
      throw new ConfigError({ op: "generatorConfig", scope: `${path}.${key}`, expected: `one of the known keys (${[...known].join(", ")})`, got: "an unknown key" });
    }
  }
}

/**
 * Builds a GeneratorConfig from an official recipe (already parsed, e.g. by config/yaml.ts's
 * loadYaml): `model.mlm_model`, the tokenizer's `model.vq_model` (token bits and stride),
 * `losses.mlm` and `dataset.preprocessing.resolution`.
 */
export function generatorConfigFromOfficial(doc: ConfigObject): GeneratorConfig {
  const model = field.section(doc, "model", "");
  const mlm = field.section(model, "mlm_model", "model");
  const vq = field.section(model, "vq_model", "model");
  rejectUnknown(mlm, MLM_MODEL_KEYS, "model.mlm_model");
  const losses = field.section(field.section(doc, "losses", ""), "mlm", "losses");
  rejectUnknown(losses, MLM_LOSS_KEYS, "losses.mlm");
  const resolution = field.int(field.section(field.section(doc, "dataset", ""), "preprocessing", "dataset"), "resolution", "dataset.preprocessing");

  const m = "model.mlm_model";
  const arch = oneOf(`${m}.model_cls`, mlm.model_cls, ARCHS);
  // LFQ codebooks are always 2^token_size (the stored codebook_size is stale in some files);
  // VQ tokenizers (the "bert" baseline) give K through their codebook size.
  const lookupFree = vq.quantizer_type === "lookup-free";
  const tokenBits = lookupFree ? field.int(vq, "token_size", "model.vq_model") : Math.log2(field.int(vq, "codebook_size", "model.vq_model"));
  if (!Number.isInteger(tokenBits)) throw bad("model.vq_model.codebook_size", "a power of two", vq.codebook_size);
  const stride = 2 ** (field.int(vq, "num_resolutions", "model.vq_model") - 1);
  if (resolution % stride !== 0) throw bad("dataset.preprocessing.resolution", `a multiple of the tokenizer stride ${stride}`, resolution);

  const config = withYamlScopes(() => validateGeneratorConfig({
    arch,
    tokenBits,
    groups: field.int(mlm, "codebook_splits", m),
    hiddenDim: field.int(mlm, "hidden_dim", m),
    depth: field.int(mlm, "depth", m),
    heads: field.int(mlm, "heads", m),
    mlpDim: field.int(mlm, "mlp_dim", m),
    dropout: field.number(mlm, "dropout", m),
    usePrenorm: field.bool(mlm, "use_prenorm", m, false),
    numClasses: field.int(mlm, "nclass", m, 1000),
    tokenGrid: resolution / stride,
    training: {
      classLabelDropout: field.number(mlm, "class_label_dropout", m),
      labelSmoothing: field.number(losses, "label_smoothing", "losses.mlm"),
      maskSchedule: oneOf(`${m}.train_mask_schedule_strategy`, mlm.train_mask_schedule_strategy, SCHEDULES),
      sumSplits: field.bool(losses, "sum_splits", "losses.mlm", false),
      maskedOnlyLoss: false,
    },
    sampling: {
      steps: field.int(mlm, "num_steps", m),
      guidanceScale: field.number(mlm, "guidance_scale", m),
      guidanceAnnealing: oneOf(`${m}.guidance_annealing`, mlm.guidance_annealing, ANNEALINGS),
      // The official evaluation falls back to 4.0 when the recipe has no scale_pow.
      scalePow: field.number(mlm, "scale_pow", m, 4.0),
      randomizeTemperature: field.number(mlm, "randomize_temperature", m),
      softmaxTemperature: field.number(mlm, "softmax_temperature", m, 1.0),
      samplingAnnealing: field.bool(mlm, "use_sampling_annealing", m, false),
      maskSchedule: oneOf(`${m}.gen_mask_schedule_strategy`, mlm.gen_mask_schedule_strategy, SCHEDULES),
    },
  }));
  if (mlm.mask_token !== undefined && mlm.mask_token !== maskId(config)) {
    throw bad(`${m}.mask_token`, `${maskId(config)} (2^(K/N) for K=${tokenBits}, N=${config.groups})`, mlm.mask_token);
  }
  return config;
}

/** Reads an official generator YAML file (e.g. configs/generator/maskbit_generator_14bit.yaml). */
export const loadGeneratorConfig = (yamlPath: string): GeneratorConfig => generatorConfigFromOfficial(loadYaml(yamlPath));

/** Where each GeneratorConfig field comes from in the official YAML. */
const YAML_FIELDS: Readonly<Record<string, string>> = {
  groups: "model.mlm_model.codebook_splits", hiddenDim: "model.mlm_model.hidden_dim", depth: "model.mlm_model.depth",
  heads: "model.mlm_model.heads", mlpDim: "model.mlm_model.mlp_dim", dropout: "model.mlm_model.dropout",
  numClasses: "model.mlm_model.nclass", tokenBits: "model.vq_model.token_size", tokenGrid: "dataset.preprocessing.resolution",
  "training.classLabelDropout": "model.mlm_model.class_label_dropout", "training.labelSmoothing": "losses.mlm.label_smoothing",
  "sampling.steps": "model.mlm_model.num_steps", "sampling.guidanceScale": "model.mlm_model.guidance_scale",
  "sampling.scalePow": "model.mlm_model.scale_pow", "sampling.randomizeTemperature": "model.mlm_model.randomize_temperature",
  "sampling.softmaxTemperature": "model.mlm_model.softmax_temperature",
};

/** Re-labels validation errors with the YAML field the user has to fix. */
function withYamlScopes<T>(build: () => T): T {
  try {
    return build();
  } catch (e) {
    const yamlPath = e instanceof ConfigError && e.scope ? YAML_FIELDS[e.scope] : undefined;
    if (!(e instanceof ConfigError) || !yamlPath) throw e;
    throw new ConfigError({ op: e.op, scope: yamlPath, expected: e.expected, got: e.got, hint: `GeneratorConfig.${e.scope}` });
  }
}

/** True when two configs describe the same network (training and sampling settings may differ). */
export function sameArchitecture(a: GeneratorConfig, b: GeneratorConfig): boolean {
  const arch = ({ training: _t, sampling: _s, ...rest }: GeneratorConfig) => rest;
  const x = arch(a), y = arch(b);
  return (Object.keys(x) as (keyof typeof x)[]).every((k) => x[k] === y[k]) && Object.keys(x).length === Object.keys(y).length;
}

// --- JSON round trip (checkpoint metadata) -----------------------------------------------------

/** The config as JSON text, e.g. for a safetensors `__metadata__` entry. */
export const generatorConfigToJson = (c: GeneratorConfig): string => JSON.stringify(c);

/** Parses what generatorConfigToJson wrote; unknown or missing keys are errors. */
export function generatorConfigFromJson(text: string, source = "generator config JSON"): GeneratorConfig {
  let v: ConfigValue;
  try {
    v = JSON.parse(text) as ConfigValue;
  } catch (e) {
    throw new ConfigError({ op: "generatorConfigFromJson", scope: source, expected: "valid JSON", got: (e as Error).message });
  }
  checkShape(v, TEMPLATE, source);
  return validateGeneratorConfig(v as unknown as GeneratorConfig);
}

/** Recursively checks that `v` has exactly the keys (and value kinds) of `template`. */
function checkShape(v: unknown, template: object, path: string): void {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad(path, "an object", v);
  const obj = v as Record<string, unknown>;
  for (const [key, want] of Object.entries(template)) {
    if (!(key in obj)) throw bad(`${path}.${key}`, `a ${typeof want === "object" ? "section" : typeof want}`, "nothing");
    if (typeof want === "object") checkShape(obj[key], want as object, `${path}.${key}`);
    else if (typeof obj[key] !== typeof want) throw bad(`${path}.${key}`, `a ${typeof want}`, obj[key]);
  }
  for (const key of Object.keys(obj)) if (!(key in template)) throw bad(`${path}.${key}`, `one of ${Object.keys(template).join(", ")}`, "an unknown key");
}

// --- released variants ---------------------------------------------------------------------------

const RELEASED_BASE: GeneratorConfig = {
  arch: "lfq_bert", tokenBits: 14, groups: 2, hiddenDim: 1024, depth: 24, heads: 16, mlpDim: 4096, dropout: 0.1,
  usePrenorm: false, numClasses: 1000, tokenGrid: 16,
  training: { classLabelDropout: 0.1, labelSmoothing: 0.1, maskSchedule: "arccos", sumSplits: false, maskedOnlyLoss: false },
  sampling: {
    steps: 64, guidanceScale: 7.1, guidanceAnnealing: "cosine", scalePow: 3.0, randomizeTemperature: 7.8,
    softmaxTemperature: 1.0, samplingAnnealing: false, maskSchedule: "arccos",
  },
};

/** Used for JSON shape checking: the set of keys every config has. */
const TEMPLATE: GeneratorConfig = RELEASED_BASE;

function released(tokenBits: number, sampling: Partial<SamplingDefaults>): GeneratorConfig {
  return validateGeneratorConfig({ ...RELEASED_BASE, tokenBits, sampling: { ...RELEASED_BASE.sampling, ...sampling } });
}

/** The released generators (configs/generator/maskbit_generator_*.yaml); 14-bit variants share one checkpoint. */
export const generator10bit = released(10, { guidanceScale: 6.4, scalePow: 2.5, randomizeTemperature: 10.5 });
export const generator12bit = released(12, { guidanceScale: 7.1, scalePow: 3.0, randomizeTemperature: 8.2 });
export const generator14bit = released(14, {});
export const generator14bit128steps = released(14, { steps: 128, randomizeTemperature: 9.0 });
export const generator14bit256steps = released(14, { steps: 256, guidanceScale: 5.8, randomizeTemperature: 10.3 });
export const generator16bit = released(16, { guidanceScale: 6.5, scalePow: 2.5, randomizeTemperature: 7.5 });
export const generator18bit = released(18, { guidanceScale: 5.7, scalePow: 2.5, randomizeTemperature: 8.5 });

export const GENERATOR_VARIANTS = {
  generator10bit, generator12bit, generator14bit, generator14bit128steps, generator14bit256steps, generator16bit, generator18bit,
} as const satisfies Record<string, GeneratorConfig>;
export type GeneratorVariant = keyof typeof GENERATOR_VARIANTS;
