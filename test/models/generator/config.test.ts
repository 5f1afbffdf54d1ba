import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../../../src/engine/errors.js";
import { applyOverrides, loadYaml } from "../../../src/config/yaml.js";
import {
  GENERATOR_VARIANTS, generator14bit, generatorConfigFromJson, generatorConfigFromOfficial, generatorConfigToJson, groupVocab, maskId,
  numSlots, seqLen, validateGeneratorConfig, type GeneratorVariant,
} from "../../../src/models/generator/config.js";
import { OFFICIAL_CONFIGS } from "./helpers.js";

const dir = join(OFFICIAL_CONFIGS, "generator");
const variantOf = (file: string): GeneratorVariant =>
  file.replace("maskbit_generator_", "generator").replace("_", "").replace(".yaml", "") as GeneratorVariant;

const configError = (scope: string, expected?: RegExp) => (e: unknown) =>
  e instanceof ConfigError && e.scope === scope && (!expected || expected.test(e.expected));

test("every official generator YAML parses to its released variant", () => {
  const files = readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();
  assert.equal(files.length, 7);
  for (const file of files) {
    const parsed = generatorConfigFromOfficial(loadYaml(join(dir, file)));
    assert.deepEqual(parsed, GENERATOR_VARIANTS[variantOf(file)], file);
  }
});

test("derived sizes of the 14-bit generator: b = 7, C = 128, mask id 128, L = 256, S = 512", () => {
  const c = generator14bit;
  assert.equal(groupVocab(c), 128);
  assert.equal(maskId(c), 128);
  assert.equal(seqLen(c), 256);
  assert.equal(numSlots(c), 512);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.sampling));
});

test("bad recipes fail naming the YAML field", () => {
  const base = loadYaml(join(dir, "maskbit_generator_14bit.yaml"));
  const parse = (...overrides: string[]) => () => generatorConfigFromOfficial(applyOverrides(base, overrides));
  assert.throws(parse("model.mlm_model.codebook_splits=3"), configError("model.mlm_model.codebook_splits", /divisor of tokenBits 14/));
  assert.throws(parse("model.mlm_model.heads=5"), configError("model.mlm_model.heads", /divisor of hiddenDim 1024/));
  assert.throws(parse("+model.mlm_model.use_flash=true"), configError("model.mlm_model.use_flash", /known keys/));
  assert.throws(parse("+losses.mlm.focal=true"), configError("losses.mlm.focal"));
  assert.throws(parse("model.mlm_model.guidance_annealing=exp"), configError("model.mlm_model.guidance_annealing", /cosine, linear, none/));
  assert.throws(parse("model.mlm_model.model_cls=gpt"), configError("model.mlm_model.model_cls"));
  assert.throws(parse("model.mlm_model.dropout=1.5"), configError("model.mlm_model.dropout"));
  assert.throws(parse("model.mlm_model.num_steps=0"), configError("model.mlm_model.num_steps"));
  assert.throws(parse("+model.mlm_model.mask_token=16384"), configError("model.mlm_model.mask_token", /^128/));
  assert.throws(parse("dataset.preprocessing.resolution=250"), configError("dataset.preprocessing.resolution"));
  assert.throws(parse("model.mlm_model.hidden_dim=abc"), configError("model.mlm_model.hidden_dim", /number/));
});

test("LFQ token bits come from token_size, not the stale codebook_size; trainer-written mask_token is accepted", () => {
  const base = loadYaml(join(dir, "maskbit_generator_14bit.yaml"));
  const c = generatorConfigFromOfficial(applyOverrides(base, ["model.vq_model.codebook_size=4096", "+model.mlm_model.mask_token=128", "+model.mlm_model.nclass=10"]));
  assert.equal(c.tokenBits, 14);
  assert.equal(c.numClasses, 10);
  const vq = generatorConfigFromOfficial(applyOverrides(base, ["model.vq_model.quantizer_type=vq", "model.vq_model.codebook_size=1024", "model.mlm_model.model_cls=bert", "model.mlm_model.codebook_splits=1"]));
  assert.equal(vq.arch, "bert");
  assert.equal(vq.tokenBits, 10);
});

test("JSON round trip (checkpoint metadata) is exact and rejects unknown or missing keys", () => {
  const c = GENERATOR_VARIANTS.generator14bit256steps;
  assert.deepEqual(generatorConfigFromJson(generatorConfigToJson(c)), c);
  const obj = JSON.parse(generatorConfigToJson(c)) as Record<string, unknown>;
  assert.throws(() => generatorConfigFromJson(JSON.stringify({ ...obj, extra: 1 })), configError("generator config JSON.extra"));
  const { sampling: _, ...noSampling } = obj;
  assert.throws(() => generatorConfigFromJson(JSON.stringify(noSampling)), configError("generator config JSON.sampling"));
  assert.throws(() => generatorConfigFromJson("{"), (e: unknown) => e instanceof ConfigError && /valid JSON/.test(e.expected));
});

test("validateGeneratorConfig: more than 24 bits per group is refused", () => {
  assert.throws(() => validateGeneratorConfig({ ...generator14bit, tokenBits: 26, groups: 1 }), configError("groups", /24 bits/));
});
