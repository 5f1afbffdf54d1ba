// A Stage II training recipe (official generator YAML layout). The frozen tokenizer's own config
// (from its safetensors metadata) decides K and the latent stride; a `model.vq_model` section in
// the recipe, as the official files carry, must agree with it on everything the generator uses.

import { ConfigError } from "../engine/errors.js";
import { field, type ConfigObject } from "../config/yaml.js";
import { toOfficialSection, type TokenizerConfig } from "../models/tokenizer/config.js";
import { generatorConfigFromOfficial, type GeneratorConfig } from "../models/generator/config.js";
import { parseCommonRecipe, rejectUnknown, type CommonRecipe } from "./recipe.js";

export interface GeneratorRecipe extends CommonRecipe {
  readonly generator: GeneratorConfig;
}

/** vq_model keys the generator depends on: bits, stride and image channels. */
const SHARED_KEYS = ["quantizer_type", "token_size", "num_resolutions", "num_channels"];

export function parseGeneratorRecipe(doc: ConfigObject, tokenizer: TokenizerConfig, tokenizerFile: string): GeneratorRecipe {
  const common = parseCommonRecipe(doc, "generator");
  const model = field.section(doc, "model", "");
  rejectUnknown(model, ["vq_model", "mlm_model"], "model");
  rejectUnknown(field.section(doc, "losses", ""), ["mlm"], "losses");
  const actual = toOfficialSection(tokenizer);
  const stated = model.vq_model;
  if (stated !== undefined) {
    const section = field.section(model, "vq_model", "model");
    const diffs = SHARED_KEYS.filter((k) => section[k] !== undefined && JSON.stringify(section[k]) !== JSON.stringify(actual[k]));
    if (diffs.length) {
      throw new ConfigError({
        op: "generator recipe", scope: "model.vq_model", expected: `the tokenizer's own config (${tokenizerFile}): ${diffs.map((k) => `${k} ${JSON.stringify(actual[k])}`).join(", ")}`,
        got: diffs.map((k) => `${k} ${JSON.stringify(section[k])}`).join(", "), hint: "fix the recipe's vq_model section or pass the tokenizer it was written for",
      });
    }
  }
  const generator = generatorConfigFromOfficial({ ...doc, model: { ...model, vq_model: actual } });
  // lfq_bert on a VQ tokenizer reads the binary expansion of each codebook index as its input bits:
  // the paper's "tokenizer not embedding-free, generator embedding-free" cell (Tab. 3a, gFID 2.83),
  // which the embedding-free experiment (src/experiments/embedding-free.ts) reproduces. The
  // codebook size is a power of two (generatorConfigFromOfficial checks it), so every id has K bits.
  return { ...common, generator };
}
