// A golden case's generator description (official names, as in case.json `config` of
// generator_k10, or `config.generator` plus the sampling fields at `config` of sampler_k10) as a
// GeneratorConfig. The golden runners and the generator tests share this one mapping.
//
// Fields that describe the network are required; training and sampling fields fall back to the
// released recipe (generator14bit) when a case leaves them out. Derived fields a case may state
// (codebook_size, seq_len, group_bits, group_vocab, mask_token, null_class) are checked against the
// config rather than trusted. Other fields (num_parameters, num_samples, labels, ...) describe the
// case, not the model, and are ignored here.

import { ConfigError } from "../engine/errors.js";
import type { GoldenCase, Json, JsonObject } from "../io/golden.js";
import {
  generator14bit, groupBits, groupVocab, maskId, nullClass, seqLen, validateGeneratorConfig,
  type GeneratorArch, type GeneratorConfig, type GuidanceAnnealing, type MaskSchedule,
} from "../models/generator/config.js";

const bad = (scope: string, expected: string, got: Json | undefined): ConfigError =>
  new ConfigError({ op: "goldenGeneratorConfig", scope, expected, got: got === undefined ? "nothing" : JSON.stringify(got) });

function reader(o: JsonObject, path: string) {
  const scope = (k: string) => (path ? `${path}.${k}` : k);
  const num = (k: string, fallback?: number): number => {
    const v = o[k];
    if (typeof v === "number") return v;
    if (v === undefined && fallback !== undefined) return fallback;
    throw bad(scope(k), "a number", v);
  };
  const bool = (k: string, fallback: boolean): boolean => {
    const v = o[k];
    if (typeof v === "boolean") return v;
    if (v === undefined || v === null) return fallback;
    throw bad(scope(k), "true or false", v);
  };
  const str = <T extends string>(k: string, fallback: T): T => {
    const v = o[k];
    if (typeof v === "string") return v as T; // validateGeneratorConfig checks the allowed values.
    if (v === undefined || v === null) return fallback;
    throw bad(scope(k), "a string", v);
  };
  return { num, bool, str, scope };
}

/**
 * The generator of a golden case. `model` holds the network fields (model_cls, token_size,
 * codebook_splits, hidden_dim, depth, heads, mlp_dim, dropout, use_prenorm, nclass, img_size,
 * input_stride or seq_len, label_smoothing, sum_splits); `sampling` the sampler fields (num_steps,
 * guidance_scale, guidance_annealing, scale_pow, randomize_temperature, softmax_temperature,
 * use_sampling_annealing, mask_schedule_strategy). Both may be the same object.
 */
export function generatorConfigFromCase(model: JsonObject, sampling: JsonObject = model, path = "config"): GeneratorConfig {
  const m = reader(model, path);
  const arch = m.str<GeneratorArch>("model_cls", "lfq_bert");
  // LFQ: K = token_size (codebook_size may be stale); a VQ "bert" baseline may give only its codebook size.
  const tokenBits = model.token_size !== undefined || arch === "lfq_bert" ? m.num("token_size") : Math.log2(m.num("codebook_size"));
  if (!Number.isInteger(tokenBits)) throw bad(m.scope("codebook_size"), "a power of two", model.codebook_size);

  let tokenGrid: number;
  if (model.img_size !== undefined || model.input_stride !== undefined) {
    tokenGrid = m.num("img_size") / m.num("input_stride");
    if (!Number.isInteger(tokenGrid)) throw bad(m.scope("img_size"), `a multiple of input_stride ${model.input_stride}`, model.img_size);
  } else {
    tokenGrid = Math.sqrt(m.num("seq_len"));
    if (!Number.isInteger(tokenGrid)) throw bad(m.scope("seq_len"), "a square number of tokens (the token grid is square)", model.seq_len);
  }

  const defaults = generator14bit;
  const s = reader(sampling, sampling === model ? path : "config");
  const trainSchedule = m.str<MaskSchedule>("train_mask_schedule_strategy", defaults.training.maskSchedule);
  const config = validateGeneratorConfig({
    arch,
    tokenBits,
    groups: m.num("codebook_splits", 1),
    hiddenDim: m.num("hidden_dim"),
    depth: m.num("depth"),
    heads: m.num("heads"),
    mlpDim: m.num("mlp_dim"),
    dropout: m.num("dropout", defaults.dropout),
    usePrenorm: m.bool("use_prenorm", false),
    numClasses: m.num("nclass", defaults.numClasses),
    tokenGrid,
    training: {
      classLabelDropout: m.num("class_label_dropout", defaults.training.classLabelDropout),
      labelSmoothing: m.num("label_smoothing", defaults.training.labelSmoothing),
      maskSchedule: trainSchedule,
      sumSplits: m.bool("sum_splits", false),
      maskedOnlyLoss: false,
    },
    sampling: {
      steps: s.num("num_steps", defaults.sampling.steps),
      guidanceScale: s.num("guidance_scale", defaults.sampling.guidanceScale),
      guidanceAnnealing: s.str<GuidanceAnnealing>("guidance_annealing", defaults.sampling.guidanceAnnealing),
      scalePow: s.num("scale_pow", defaults.sampling.scalePow),
      randomizeTemperature: s.num("randomize_temperature", defaults.sampling.randomizeTemperature),
      softmaxTemperature: s.num("softmax_temperature", defaults.sampling.softmaxTemperature),
      samplingAnnealing: s.bool("use_sampling_annealing", defaults.sampling.samplingAnnealing),
      maskSchedule: s.str<MaskSchedule>("mask_schedule_strategy", s.str<MaskSchedule>("gen_mask_schedule_strategy", defaults.sampling.maskSchedule)),
    },
  });

  // Derived sizes the case states must agree with the config built from the primary fields.
  const derived: [string, number][] = [
    ["seq_len", seqLen(config)], ["group_bits", groupBits(config)], ["group_vocab", groupVocab(config)],
    ["mask_token", maskId(config)], ["null_class", nullClass(config)],
  ];
  if (arch === "bert" && model.token_size === undefined) derived.push(["codebook_size", 2 ** tokenBits]);
  for (const [k, want] of derived) {
    if (model[k] !== undefined && model[k] !== want) throw bad(m.scope(k), `${want} (derived from the other fields)`, model[k]);
  }
  return config;
}

/** The generator of a `sampler` case: the network from `config.generator`, sampling from `config`. */
export function samplerCaseGeneratorConfig(c: GoldenCase): GeneratorConfig {
  const model = c.config.generator;
  if (model === null || typeof model !== "object" || Array.isArray(model)) throw bad("config.generator", "an object", model);
  return generatorConfigFromCase(model, c.config, "config.generator");
}
