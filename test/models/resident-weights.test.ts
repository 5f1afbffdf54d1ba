// Tokenizer and Generator bake their weights into the inference sessions (SessionOptions
// .residentWeights, default true): the outputs of feeding them, nothing read from the ParamStore
// per run, and a params.set() reaching the next call through a recompile. Float outputs agree to
// float tolerance, not bit for bit: with constant weights ORT pre-packs and fuses differently
// (max |diff| 2.4e-6 on the decoder's images; with optimization "disabled" they are identical).
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { ParamStore } from "../../src/engine/params.js";
import { loadTokenizerConfig } from "../../src/models/tokenizer/config.js";
import { Tokenizer } from "../../src/models/tokenizer/tokenizer.js";
import { loadGeneratorConfig } from "../../src/models/generator/config.js";
import { Generator } from "../../src/models/generator/generator.js";
import { Rng, assertClose, randu } from "../engine/helpers.js";

const TOL = { atol: 1e-5, rtol: 1e-4 };

const ROOT = join(import.meta.dirname, "../..");
const tokConfig = loadTokenizerConfig(join(ROOT, "configs/fmnist_tokenizer.yaml"));
const genConfig = loadGeneratorConfig(join(ROOT, "configs/fmnist_generator.yaml"));

/** Makes every later params.get() throw, so a run that still reads the store fails loudly. */
function forbidReads(store: ParamStore): () => void {
  const original = store.get.bind(store);
  store.get = (key: string) => {
    throw new Error(`parameter ${key} read after compile`);
  };
  return () => {
    store.get = original;
  };
}

/** The same weights scaled by `f` (a different model of the same architecture). */
function scaled(store: ParamStore, key: string, f: number): HostTensor {
  const v = store.get(key)!;
  return new HostTensor("float32", v.shape, (v.data as Float32Array).map((x) => x * f));
}

test("Tokenizer: resident weights give the fed sessions' outputs and are not read per run", async () => {
  const resident = Tokenizer.random(tokConfig, 11, { threads: 1 });
  const fed = await Tokenizer.load({ config: tokConfig, params: resident.params }, { session: { threads: 1, residentWeights: false } });
  const images = randu(new Rng(4), [3, 1, 32, 32]);
  try {
    const want = await fed.encode(images);
    const first = await resident.encode(images);
    const restore = forbidReads(resident.params);
    const again = await resident.encode(images);
    const decoded = await resident.decode(again.ids).catch((e: unknown) => e);
    restore();
    assert.deepEqual(first.ids.toNumbers(), want.ids.toNumbers());
    assert.deepEqual(again.ids.toNumbers(), want.ids.toNumbers());
    assert.deepEqual(again.latent.data, want.latent.data, "the latent is the +-1 bits");
    // decode was compiled while reads were forbidden: compiling (and only compiling) reads the store.
    assert.match(String(decoded), /read after compile/);
    assertClose(await resident.decode(want.ids), await fed.decode(want.ids), TOL);
    // A fed session really reads the store at each run (the spy above can fail).
    const restoreFed = forbidReads(fed.params);
    await assert.rejects(fed.encode(images), /read after compile/);
    restoreFed();
  } finally {
    await Promise.all([resident.dispose(), fed.dispose()]);
  }
});

test("Tokenizer: params.set() recompiles with the new weights and releases the stale sessions", async () => {
  const tok = Tokenizer.random(tokConfig, 12, { threads: 1 });
  const images = randu(new Rng(5), [2, 1, 32, 32]);
  try {
    const ids = (await tok.encode(images)).ids;
    const before = await tok.decode(ids);
    assert.equal(tok.sessionCount, 2);
    const key = tok.params.keys().find((k) => k.startsWith("decoder.") && k.endsWith("weight"))!;
    tok.params.set(key, scaled(tok.params, key, 1.5));
    const after = await tok.decode(ids);
    assert.equal(tok.sessionCount, 1, "only the recompiled decode session is live");
    const fresh = await Tokenizer.load({ config: tokConfig, params: tok.params }, { session: { threads: 1 } });
    assert.deepEqual(after.data, (await fresh.decode(ids)).data, "the same resident compile of the same weights");
    assert.ok(Math.max(...(after.data as Float32Array).map((v, i) => Math.abs(v - (before.data as Float32Array)[i]!))) > 1e-3, "the decoder changed");
    await fresh.dispose();
  } finally {
    await tok.dispose();
  }
});

test("Generator: resident weights sample the fed sampler's ids and logits; params.set() reaches the next call", async () => {
  const gen = Generator.random(genConfig, 21, { threads: 1 });
  const fed = await Generator.load({ config: genConfig, params: gen.params }, { session: { threads: 1, residentWeights: false } });
  const labels = [0, 3];
  const request = { labels, steps: 3, seed: 9 };
  try {
    const want = await fed.sample(request);
    const restore = forbidReads(gen.params);
    const compileFailed = await gen.sample(request).catch((e: unknown) => e);
    restore();
    assert.match(String(compileFailed), /read after compile/);
    const got = await gen.sample(request);
    const restoreAgain = forbidReads(gen.params);
    const again = await gen.sample(request);
    restoreAgain();
    assert.deepEqual(got.ids.toNumbers(), want.ids.toNumbers());
    assert.deepEqual(again.ids.toNumbers(), want.ids.toNumbers());
    const tokens = got.ids.reshape([2, genConfig.tokenGrid * genConfig.tokenGrid]);
    assertClose(await gen.logits({ ids: tokens, labels }), await fed.logits({ ids: tokens, labels }), TOL);

    const before = await gen.logits({ ids: tokens, labels });
    const key = "input_proj.weight";
    gen.params.set(key, scaled(gen.params, key, -2));
    fed.params.set(key, gen.params.get(key)!);
    const changed = await gen.logits({ ids: tokens, labels });
    assertClose(changed, await fed.logits({ ids: tokens, labels }), TOL);
    assert.ok(Math.max(...(changed.data as Float32Array).map((v, i) => Math.abs(v - (before.data as Float32Array)[i]!))) > 1e-3, "the logits changed");
    assert.equal(gen.sessionCount, 1, "the stale sampler and logit sessions were released");
  } finally {
    await Promise.all([gen.dispose(), fed.dispose()]);
  }
});
