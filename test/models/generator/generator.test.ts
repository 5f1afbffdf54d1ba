import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CheckpointError, ConfigError, FeedError } from "../../../src/engine/errors.js";
import { loadGoldenCase } from "../../../src/io/golden.js";
import { readSafetensors } from "../../../src/io/safetensors.js";
import { Generator, CONFIG_METADATA_KEY } from "../../../src/models/generator/generator.js";
import { validateGeneratorConfig } from "../../../src/models/generator/config.js";
import { Tokenizer } from "../../../src/models/tokenizer/tokenizer.js";
import { ParamStore } from "../../../src/engine/params.js";
import { Sampler } from "../../../src/models/generator/sampler.js";
import { samplerCaseGeneratorConfig } from "../../../src/golden/generator-config.js";
import { tokenizerConfigFromCase } from "../../../src/golden/tokenizer.js";
import { OFFICIAL_CONFIGS, at, goldenDir } from "./helpers.js";

const samplerCase = loadGoldenCase(goldenDir("sampler_k10"));
const generatorCase = loadGoldenCase(goldenDir("generator_k10"));
// generator_k10's network with sampler_k10's sampling settings.
const cfg = samplerCaseGeneratorConfig(samplerCase);
const input = (name: string) => samplerCase.tensors.get(name)!;
const labels = input("labels").toNumbers();
// sampler_k10's stored draws, as inputs: its ids and image are judged by its golden runner
// (src/golden/sampler.ts, test/golden/golden.test.ts); here the API is checked against the Sampler.
const uniforms = {
  kind: "uniforms" as const,
  at: (i: number) => ({ categorical: at(input("uniform_cat"), i), gumbel: at(input("gumbel_u"), i) }),
};

/** The ids the Sampler itself gives for the fed draws. */
async function samplerIds(params: ParamStore): Promise<number[]> {
  const s = await Sampler.create(cfg, params, { batch: labels.length, guidance: true, randomness: "uniforms" });
  try {
    return (await s.run({ labels, settings: cfg.sampling, random: uniforms })).ids.toNumbers();
  } finally {
    await s.dispose();
  }
}

test("Generator: load .safetensors + config, sample with fed draws = the Sampler's ids; decode = the tokenizer's decode of them", async () => {
  const gen = await Generator.load(join(generatorCase.dir, "weights.safetensors"), { config: cfg });
  const tokenizerCase = loadGoldenCase(goldenDir("tokenizer_k10"));
  const tokenizer = await Tokenizer.load({ config: tokenizerConfigFromCase(tokenizerCase.config), params: tokenizerCase.weights! });
  const out = await gen.sample({ labels, random: uniforms, tokenizer });
  assert.deepEqual(out.ids.shape, [2, 4, 4], "ids in the tokenizer's [B, h, w] layout");
  assert.deepEqual(out.ids.toNumbers(), await samplerIds(gen.params));
  assert.deepEqual(out.images!.shape, [2, 3, 64, 64]);
  assert.deepEqual(out.images!.data, (await tokenizer.decode(out.ids, { clamp: false })).data, "images are the raw (unclamped) decode");
  assert.deepEqual(out.settings, cfg.sampling);
  assert.equal(out.seed, undefined);
  await Promise.all([gen.dispose(), tokenizer.dispose()]);
});

test("Generator: the released format (.bin with token_emb.* keys) needs a config and then samples identically", async () => {
  const bin = join(generatorCase.dir, "weights.bin");
  await assert.rejects(Generator.load(bin), (e: unknown) => e instanceof ConfigError && /opts.config/.test(e.expected));
  const gen = await Generator.load(bin, { config: cfg });
  const fromSafetensors = await Generator.load(join(generatorCase.dir, "weights.safetensors"), { config: cfg });
  const out = await gen.sample({ labels, random: uniforms });
  assert.deepEqual(out.ids.toNumbers(), (await fromSafetensors.sample({ labels, random: uniforms })).ids.toNumbers());
  await Promise.all([gen.dispose(), fromSafetensors.dispose()]);
  // A YAML path works as the config too; this one describes the full-size 14-bit network, so the
  // tiny checkpoint is refused with the mismatching shapes listed.
  const yaml = join(OFFICIAL_CONFIGS, "generator", "maskbit_generator_14bit.yaml");
  await assert.rejects(Generator.load(bin, { config: yaml }), (e: unknown) => e instanceof CheckpointError && /input_proj\.weight: expected float32\[1024, 14\]/.test(e.got));
});

test("Generator: save() writes official keys + config metadata; load(path) needs nothing else", async () => {
  const dir = mkdtempSync(join(tmpdir(), "maskbit-generator-"));
  try {
    const gen = await Generator.load({ config: cfg, params: generatorCase.weights! });
    const path = join(dir, "g.safetensors");
    gen.save(path);
    const file = readSafetensors(path);
    assert.deepEqual([...file.tensors.keys()].sort(), generatorCase.weightKeys.map(([k]) => k).sort());
    assert.ok(file.metadata[CONFIG_METADATA_KEY]);
    const again = await Generator.load(path);
    assert.deepEqual(again.config, cfg);
    const out = await again.sample({ labels, random: uniforms });
    assert.deepEqual(out.ids.toNumbers(), (await gen.sample({ labels, random: uniforms })).ids.toNumbers());
    // Sampling settings may be replaced on load (one checkpoint, several recipes), the network may not.
    const longer = await Generator.load(path, { config: validateGeneratorConfig({ ...cfg, sampling: { ...cfg.sampling, steps: 16 } }) });
    assert.equal(longer.config.sampling.steps, 16);
    await assert.rejects(Generator.load(path, { config: validateGeneratorConfig({ ...cfg, depth: 3 }) }), CheckpointError);
    await Promise.all([gen.dispose(), again.dispose(), longer.dispose()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Generator: sample() defaults come from the config, overrides apply, seeds reproduce, progress streams", async () => {
  const gen = await Generator.load({ config: cfg, params: generatorCase.weights! });
  const steps: number[] = [];
  const a = await gen.sample({ labels: [1, 2, 3], seed: 11, onStep: (s) => void steps.push(s.step) });
  assert.deepEqual(steps, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(a.seed, 11);
  assert.deepEqual(a.ids.shape, [3, 4, 4]);
  assert.deepEqual(a.bits.shape, [3, 10, 4, 4]);
  const b = await gen.sample({ labels: [1, 2, 3], seed: 11 });
  assert.deepEqual(a.ids.toNumbers(), b.ids.toNumbers());
  const c = await gen.sample({ labels: [1, 2, 3], seed: 11, steps: 4, guidanceScale: 0, randomizeTemperature: 1 });
  assert.equal(c.settings.steps, 4);
  assert.equal(c.settings.guidanceScale, 0);
  assert.equal(c.settings.scalePow, cfg.sampling.scalePow);
  const fresh = await gen.sample({ labels: [0] });
  assert.ok(Number.isInteger(fresh.seed));
  await assert.rejects(gen.sample({ labels: [1], steps: 0 }), (e: unknown) => e instanceof ConfigError && e.scope === "sampling.steps");
  await assert.rejects(gen.sample({ labels: [] }), FeedError);
  await gen.dispose();
  await assert.rejects(async () => gen.sample({ labels: [1] }), FeedError);
});

test("Generator: strict loading reports every missing and unexpected key at once", async () => {
  const params = new Map(generatorCase.weights!);
  params.delete("pos_emb");
  params.delete("prediction_layer.bias");
  params.set("extra.weight", params.get("class_emb.weight")!);
  await assert.rejects(Generator.load({ config: cfg, params }), (e: unknown) =>
    e instanceof CheckpointError && /missing pos_emb/.test(e.got) && /missing prediction_layer\.bias/.test(e.got) && /unexpected extra\.weight/.test(e.got));
});
