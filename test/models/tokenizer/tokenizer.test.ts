import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Graph, type Tensor } from "../../../src/engine/graph/tensor.js";
import { grad } from "../../../src/engine/autodiff/grad.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { ParamStore } from "../../../src/engine/params.js";
import { CheckpointError, ConfigError, FeedError } from "../../../src/engine/errors.js";
import { add, mul, reduceMean, square, sub } from "../../../src/engine/ops/index.js";
import { loadGoldenCase } from "../../../src/io/golden.js";
import { parseTokenizerConfig, toOfficialSection, type TokenizerConfig } from "../../../src/models/tokenizer/config.js";
import { buildDecodeIds, buildTokenizerForward, tokenizerParamSpecs } from "../../../src/models/tokenizer/forward.js";
import { Tokenizer } from "../../../src/models/tokenizer/tokenizer.js";
import type { JsonObject } from "../../../src/io/golden.js";
import { expectGolden } from "../expect-golden.js";
import { runGraph } from "../../engine/helpers.js";

const DIR = join(import.meta.dirname, "../../../../shared/golden/tokenizer_k10");
const golden = loadGoldenCase(DIR);

/** The golden config minus the fields that describe the case rather than the model. */
function goldenConfig(): TokenizerConfig {
  const { loss: _loss, input_shape: _shape, latent_hw: _hw, num_parameters: _n, ...section } = golden.config as JsonObject;
  return parseTokenizerConfig(section);
}
const config = goldenConfig();
const x = golden.tensors.get("x")!;
const idsIn = golden.tensors.get("ids_in")!; // [2, 16]

test("Tokenizer.load: weights.safetensors and weights.bin (torch.save) give identical encode/decode, matching golden", async () => {
  const fromSafetensors = await Tokenizer.load(join(DIR, "weights.safetensors"), { config });
  const fromBin = await Tokenizer.load(join(DIR, "weights.bin"), { config });
  try {
    for (const key of golden.weights!.keys()) assert.deepEqual(fromBin.params.get(key)!.data, fromSafetensors.params.get(key)!.data, key);
    const [a, b] = [await fromSafetensors.encode(x), await fromBin.encode(x)];
    assert.deepEqual(a.ids.toNumbers(), b.ids.toNumbers());
    expectGolden(golden, "ids", a.ids);
    expectGolden(golden, "z_quantized", a.bits!);
    assert.ok(a.bits!.toNumbers().every((v) => v === 1 || v === -1), "bits are exactly +-1");
    expectGolden(golden, "x_from_ids", await fromBin.decode(idsIn));
    expectGolden(golden, "x_from_ids", await fromBin.decode(idsIn.reshape([2, 4, 4])));
    const rec = await fromSafetensors.reconstruct(x);
    expectGolden(golden, "x_hat", rec.images);
    expectGolden(golden, "ids", rec.ids);
    const clamped = await fromSafetensors.reconstruct(x, { clamp: true });
    const raw = rec.images.toNumbers();
    assert.deepEqual(clamped.images.toNumbers(), raw.map((v) => Math.fround(Math.min(Math.max(v, 0), 1))));
  } finally {
    await fromSafetensors.dispose();
    await fromBin.dispose();
  }
});

test("Tokenizer.save -> load(path): the config travels in __metadata__, sessions are reused per shape", async () => {
  const dir = mkdtempSync(join(tmpdir(), "maskbit-tokenizer-"));
  try {
    const original = await Tokenizer.load(join(DIR, "weights.bin"), { config });
    const path = join(dir, "tok.safetensors");
    original.save(path);
    await original.dispose();
    const loaded = await Tokenizer.load(path);
    assert.deepEqual(loaded.config, config);
    assert.equal(loaded.stride, 16);
    const first = await loaded.decode(idsIn);
    expectGolden(golden, "x_from_ids", first);
    assert.deepEqual((await loaded.decode(idsIn)).toNumbers(), first.toNumbers());
    await loaded.dispose();
    await assert.rejects(() => loaded.decode(idsIn), FeedError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("strict loading: a 12-bit checkpoint for the 10-bit config -> CheckpointError listing every mismatched key", async () => {
  const k12 = ParamStore.init(tokenizerParamSpecs({ ...config, tokenSize: 12 }), 1);
  const err = await Tokenizer.load({ config, params: k12 }).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof CheckpointError, String(err));
  for (const key of ["encoder.conv_out.weight", "encoder.conv_out.bias", "decoder.conv_in.weight", "quantize.bits_to_indices", "quantize.codebook"]) {
    assert.ok(err.got.includes(key), `mentions ${key}: ${err.got}`);
  }
  assert.ok(err.got.includes("5 problem(s)"), err.got);
  assert.ok(!err.got.includes("decoder.conv_in.bias"), "unchanged keys are not listed");
});

test("strict loading: missing and unexpected keys are all reported", async () => {
  const state = new Map(golden.weights!);
  state.delete("decoder.norm_out.weight");
  state.set("decoder.extra.weight", HostTensor.f32([1]));
  const err = await Tokenizer.load({ config, params: state }).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof CheckpointError);
  assert.match(err.got, /missing decoder\.norm_out\.weight/);
  assert.match(err.got, /unexpected decoder\.extra\.weight/);
});

test("Tokenizer.load: a .bin without a config, or a metadata config contradicting opts.config, is refused", async () => {
  await assert.rejects(() => Tokenizer.load(join(DIR, "weights.bin")), (e: unknown) => e instanceof ConfigError && e.expected.includes("opts.config"));
  await assert.rejects(() => Tokenizer.load(join(DIR, "weights.safetensors")), (e: unknown) => e instanceof ConfigError && e.got === "neither");
  const dir = mkdtempSync(join(tmpdir(), "maskbit-tokenizer-"));
  try {
    const path = join(dir, "tok.safetensors");
    (await Tokenizer.load({ config, params: golden.weights! })).save(path);
    await assert.rejects(() => Tokenizer.load(path, { config: { ...config, numResBlocks: 3 } }), CheckpointError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("encode/decode input checks: wrong channels, wrong dtype, ids out of range, non-square token count", async () => {
  const t = await Tokenizer.load({ config, params: golden.weights! });
  try {
    await assert.rejects(() => t.encode(HostTensor.zeros("float32", [1, 1, 64, 64])), (e: unknown) => e instanceof FeedError && e.expected.includes("[B, 3, H, W]"));
    await assert.rejects(() => t.decode(HostTensor.zeros("int32", [1, 4, 4])), FeedError);
    await assert.rejects(() => t.decode(HostTensor.i64([0, 1024, 3, 4], [1, 2, 2])), (e: unknown) => e instanceof FeedError && e.got.startsWith("1024"));
    await assert.rejects(() => t.decode(HostTensor.i64([0, 1, 2], [1, 3])), (e: unknown) => e instanceof FeedError && e.got === "L = 3");
  } finally {
    await t.dispose();
  }
});

test("encode accepts sizes that are not multiples of the stride (TF-SAME rounds up): 50x70 -> 4x5 tokens", async () => {
  const t = Tokenizer.random(config, 3);
  try {
    const { ids, bits } = await t.encode(HostTensor.zeros("float32", [1, 3, 50, 70]));
    assert.deepEqual([...ids.shape], [1, 4, 5]);
    assert.deepEqual([...bits!.shape], [1, 10, 4, 5]);
    assert.deepEqual([...(await t.decode(ids)).shape], [1, 3, 64, 80]);
  } finally {
    await t.dispose();
  }
});

test("Tokenizer.load(weights.bin, { config: <official-style YAML path> })", async () => {
  const dir = mkdtempSync(join(tmpdir(), "maskbit-tokenizer-"));
  try {
    const yaml = join(dir, "tokenizer.yaml");
    const body = Object.entries(toOfficialSection(config)).map(([k, v]) => `        ${k}: ${JSON.stringify(v)}`).join("\n");
    writeFileSync(yaml, `experiment:\n    name: "small"\nmodel:\n    vq_model:\n${body}\n`);
    const t = await Tokenizer.load(join(DIR, "weights.bin"), { config: yaml });
    assert.deepEqual(t.config, config);
    expectGolden(golden, "ids", (await t.encode(x)).ids);
    await t.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("K = 18 (hidden 32): train-mode forward and gradients of every parameter run; Tokenizer.encode agrees with the training graph, decode runs", async () => {
  const k18 = { ...config, tokenSize: 18 };
  const g = new Graph();
  const xIn = g.input("x", "float32", [2, 3, 32, 32]);
  const f = buildTokenizerForward(xIn, k18, { training: true });
  const total = add(mul(reduceMean(square(sub(xIn, f.xHat))), 4), f.losses.quantizerLoss);
  const keys = g.trainableKeys();
  const grads = grad(total, keys.map((k) => g.params.get(k)!));
  const params = ParamStore.init(tokenizerParamSpecs(k18), 5);
  assert.deepEqual(params.get("quantize.codebook")!.shape, [262144, 18]);
  const got = await runGraph(g, { total, ids: f.ids, entropy: f.losses.entropyLoss, dConvOut: grads[keys.indexOf("encoder.conv_out.weight")]! }, { x: sliceImages() }, params);
  assert.ok(Number.isFinite(got.total!.at(0)) && got.entropy!.at(0) !== 0);
  assert.ok(got.dConvOut!.toNumbers().some((v) => v !== 0), "the entropy and commitment terms reach the encoder");
  const t = await Tokenizer.load({ config: k18, params });
  try {
    const { ids } = await t.encode(sliceImages());
    assert.deepEqual(ids.toNumbers(), got.ids!.toNumbers());
    assert.ok(ids.toNumbers().every((v) => v >= 0 && v < 2 ** 18));
    const again = (await t.encode(await t.decode(ids))).ids;
    assert.deepEqual([...again.shape], [2, 2, 2]);
  } finally {
    await t.dispose();
  }
});

/** The top-left 32x32 crop of the golden images. */
function sliceImages(): HostTensor {
  const out = new Float32Array(2 * 3 * 32 * 32);
  for (let bc = 0; bc < 6; bc++) for (let i = 0; i < 32; i++) for (let j = 0; j < 32; j++) out[(bc * 32 + i) * 32 + j] = x.at((bc * 64 + i) * 64 + j);
  return new HostTensor("float32", [2, 3, 32, 32], out);
}
