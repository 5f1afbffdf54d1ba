// The Taming-VQGAN baseline's parts (roadmap step 0): training-mode BatchNorm, the bottleneck
// self-attention, the BatchNorm PatchGAN discriminator, the `mid_attention` config option and the
// constant learning-rate schedule. Forward values against plain-JS references, gradients against
// finite differences, and the build (keys, shapes, errors).

import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { ParamStore } from "../../../src/engine/params.js";
import { grad } from "../../../src/engine/autodiff/grad.js";
import { ConfigError, ShapeError } from "../../../src/engine/errors.js";
import { batchNormTraining, batchNormTrainingLayer } from "../../../src/engine/nn/batch-norm.js";
import { bottleneckAttention, spatialAttention } from "../../../src/models/tokenizer/bottleneck-attention.js";
import { patchGanDiscriminator } from "../../../src/models/tokenizer/patchgan.js";
import { discriminator, discriminatorParamCount, parseDiscriminatorConfig } from "../../../src/models/tokenizer/discriminator.js";
import { discriminatorLoss } from "../../../src/models/tokenizer/losses.js";
import { lossOfficial } from "../../../src/models/tokenizer/loss-config.js";
import { parseTokenizerConfig, toOfficialSection, tokenizerConfigFromJson } from "../../../src/models/tokenizer/config.js";
import { tokenizerParamSpecs } from "../../../src/models/tokenizer/forward.js";
import { Tokenizer } from "../../../src/models/tokenizer/tokenizer.js";
import { cosineWithMinimum } from "../../../src/engine/optim/index.js";
import { lrSchedule } from "../../../src/train/recipe.js";
import { Rng, assertClose, assertGradients, assertThrowsFields, randn, runGraph } from "../../engine/helpers.js";

const rng = new Rng(1515);

test("batchNormTraining: per-channel batch statistics (biased variance), then scale and shift", async () => {
  const [b, c, h, w] = [3, 2, 2, 3];
  const x = randn(rng, [b, c, h, w], 2), weight = HostTensor.f32([1.5, -0.5]), bias = HostTensor.f32([0.25, 1]);
  const g = new Graph();
  const y = batchNormTraining(g.input("x", "float32", x.shape), g.input("w", "float32", [c]), g.input("b", "float32", [c]));
  const out = (await runGraph(g, { y }, { x, w: weight, b: bias })).y!;
  const xs = x.toNumbers(), expected = new Array<number>(xs.length);
  for (let ch = 0; ch < c; ch++) {
    const idx: number[] = [];
    for (let n = 0; n < b; n++) for (let p = 0; p < h * w; p++) idx.push((n * c + ch) * h * w + p);
    const mean = idx.reduce((s, i) => s + xs[i]!, 0) / idx.length;
    const v = idx.reduce((s, i) => s + (xs[i]! - mean) ** 2, 0) / idx.length;
    for (const i of idx) expected[i] = ((xs[i]! - mean) / Math.sqrt(v + 1e-5)) * weight.at(ch) + bias.at(ch);
  }
  assertClose(out, expected, { rtol: 1e-4, atol: 1e-5 });
});

test("batchNormTraining gradients (x, weight, bias) match finite differences", async () => {
  await assertGradients((x, w, b) => batchNormTraining(x!, w!, b!), [randn(rng, [4, 3, 2, 2]), randn(rng, [3]), randn(rng, [3])], { eps: 1e-2, rtol: 3e-2, atol: 2e-3 });
});

test("batchNormTrainingLayer declares weight (1) and bias (0) only: no running statistics", () => {
  const g = new Graph();
  batchNormTrainingLayer(g.input("x", "float32", [2, 4, 3, 3]), "bn", 4);
  assert.deepEqual([...g.paramSpecs.keys()], ["bn.weight", "bn.bias"]);
  assertThrowsFields(() => batchNormTrainingLayer(g.input("y", "float32", [2, 5, 3, 3]), "bn2", 4), ShapeError, { op: "batchNormTrainingLayer" });
});

test("spatialAttention equals softmax(q^T k / sqrt(C)) v computed by hand", async () => {
  const [b, c, h, w] = [2, 3, 2, 2], p = h * w;
  const q = randn(rng, [b, c, h, w]), k = randn(rng, [b, c, h, w]), v = randn(rng, [b, c, h, w]);
  const g = new Graph();
  const y = spatialAttention(g.input("q", "float32", q.shape), g.input("k", "float32", k.shape), g.input("v", "float32", v.shape));
  const out = (await runGraph(g, { y }, { q, k, v })).y!;
  const at = (t: HostTensor, n: number, ch: number, pos: number) => t.at((n * c + ch) * p + pos);
  const expected: number[] = new Array(b * c * p).fill(0);
  for (let n = 0; n < b; n++) {
    for (let i = 0; i < p; i++) {
      const s = Array.from({ length: p }, (_, j) => Array.from({ length: c }, (_, ch) => at(q, n, ch, i) * at(k, n, ch, j)).reduce((a, x) => a + x, 0) / Math.sqrt(c));
      const m = Math.max(...s), e = s.map((x) => Math.exp(x - m)), z = e.reduce((a, x) => a + x, 0);
      for (let ch = 0; ch < c; ch++) expected[(n * c + ch) * p + i] = e.reduce((a, wgt, j) => a + (wgt / z) * at(v, n, ch, j), 0);
    }
  }
  assertClose(out, expected, { rtol: 1e-4, atol: 1e-5 });
});

test("spatialAttention gradients (q, k, v) match finite differences", async () => {
  await assertGradients((q, k, v) => spatialAttention(q!, k!, v!), [randn(rng, [1, 2, 2, 3]), randn(rng, [1, 2, 2, 3]), randn(rng, [1, 2, 2, 3])], { eps: 1e-2, rtol: 3e-2, atol: 2e-3 });
});

test("bottleneckAttention: Taming AttnBlock keys; with proj_out = 0 it is the identity", async () => {
  const g = new Graph();
  const x = g.input("x", "float32", [2, 32, 4, 4]);
  const y = bottleneckAttention(x, "attn", 32);
  assert.deepEqual([...g.paramSpecs.keys()], [
    "attn.norm.weight", "attn.norm.bias", "attn.q.weight", "attn.q.bias", "attn.k.weight", "attn.k.bias", "attn.v.weight", "attn.v.bias", "attn.proj_out.weight", "attn.proj_out.bias",
  ]);
  const params = ParamStore.init([...g.paramSpecs.values()], 3);
  params.set("attn.proj_out.weight", HostTensor.zeros("float32", [32, 32, 1, 1]));
  params.set("attn.proj_out.bias", HostTensor.zeros("float32", [32]));
  const xv = randn(rng, [2, 32, 4, 4]);
  assertClose((await runGraph(g, { y }, { x: xv }, params)).y!, xv, { atol: 1e-6 });
  assertThrowsFields(() => bottleneckAttention(g.input("z", "float32", [2, 16, 4, 4]), "a2", 32), ShapeError, { op: "bottleneckAttention" });
});

test("mid_attention: parsed, round-tripped, adds mid_attn to encoder and decoder; tokenizer encodes and decodes", async () => {
  const section = {
    model_class: "vqgan+", quantizer_type: "lookup", codebook_size: 16, token_size: 8, commitment_cost: 0.25, entropy_loss_weight: 0, entropy_loss_temperature: 0.01,
    entropy_gamma: 1, num_channels: 1, hidden_channels: 32, channel_mult: [1, 1], num_resolutions: 2, num_res_blocks: 1, num_res_blocks_decoder: 2, mid_attention: true, sample_with_conv: true,
  };
  const cfg = parseTokenizerConfig(section);
  assert.equal(cfg.midAttention, true);
  assert.deepEqual(tokenizerConfigFromJson(JSON.stringify(toOfficialSection(cfg))), cfg);
  const keys = tokenizerParamSpecs(cfg).map((s) => s.key);
  assert.ok(keys.includes("encoder.mid_attn.proj_out.weight") && keys.includes("decoder.mid_attn.q.weight"));
  assert.ok(keys.includes("decoder.up.0.res_blocks.1.conv1.weight"), "two decoder blocks per level");
  assert.ok(!keys.includes("encoder.down.0.res_blocks.1.conv1.weight"), "one encoder block per level");
  const off = parseTokenizerConfig({ ...section, mid_attention: false });
  assert.equal(off.midAttention, undefined);
  assert.equal(tokenizerParamSpecs(off).some((s) => s.key.includes("mid_attn")), false);
  assert.equal("mid_attention" in toOfficialSection(off), false, "released configs round-trip unchanged");
  const tok = Tokenizer.random(cfg, 5);
  try {
    const r = await tok.reconstruct(randn(rng, [2, 1, 8, 8]), { clamp: true });
    assert.deepEqual(r.images.shape, [2, 1, 8, 8]);
    assert.deepEqual(r.ids.shape, [2, 4, 4]);
  } finally {
    await tok.dispose();
  }
});

test("PatchGAN: Taming NLayerDiscriminator layout, 6x6 logits at 32x32, BatchNorm after the inner convs", () => {
  const g = new Graph();
  const y = patchGanDiscriminator(g.input("x", "float32", [2, 1, 32, 32]), { numChannels: 1, hiddenChannels: 8, numLayers: 2 });
  assert.deepEqual(y.shape, [2, 1, 6, 6]);
  const specs = [...g.paramSpecs.values()].map((s) => [s.key, s.shape.join("x")]);
  assert.deepEqual(specs, [
    ["main.0.weight", "8x1x4x4"], ["main.0.bias", "8"],
    ["main.2.weight", "16x8x4x4"], ["main.3.weight", "16"], ["main.3.bias", "16"],
    ["main.5.weight", "32x16x4x4"], ["main.6.weight", "32"], ["main.6.bias", "32"],
    ["main.8.weight", "1x32x4x4"], ["main.8.bias", "1"],
  ]);
  // Taming's default (ndf 64, 3 layers, RGB), by hand: 3*64*16+64 + 64*128*16+2*128 + 128*256*16+2*256
  // + 256*512*16+2*512 + 512*16+1 = 2,765,633.
  assert.equal(discriminatorParamCount(parseDiscriminatorConfig({ name: "Original", num_channels: 3, hidden_channels: 64 })), 2_765_633);
  assertThrowsFields(() => patchGanDiscriminator(g.input("s", "float32", [1, 1, 4, 4]), { numChannels: 1, hiddenChannels: 8, numLayers: 2 }), ShapeError, { op: "patchGanDiscriminator" });
});

test("PatchGAN config: name Original, num_layers; VQGAN+-only keys rejected", () => {
  const cfg = parseDiscriminatorConfig({ name: "Original", num_channels: 1, hidden_channels: 32, num_layers: 2 });
  assert.equal(cfg.kind, "patchgan");
  assert.equal(cfg.numLayers, 2);
  assertThrowsFields(() => parseDiscriminatorConfig({ name: "Original", num_channels: 1, hidden_channels: 32, num_stages: 2 }), ConfigError, { scope: "model.discriminator.num_stages" });
  assertThrowsFields(() => parseDiscriminatorConfig({ name: "Original", num_channels: 1, hidden_channels: 32, num_layers: 0 }), ConfigError, { scope: "model.discriminator.num_layers" });
  assertThrowsFields(() => parseDiscriminatorConfig({ name: "VQGAN+Discriminator", num_channels: 1, hidden_channels: 32, num_stages: 2, num_layers: 2 }), ConfigError, { scope: "model.discriminator.num_layers" });
  assertThrowsFields(() => parseDiscriminatorConfig({ name: "StyleGAN", num_channels: 1, hidden_channels: 32 }), ConfigError, { expected: "Original" });
});

test("PatchGAN in the discriminator loss: trainable, gradients reach every weight, finite hinge loss", async () => {
  const cfg = parseDiscriminatorConfig({ name: "Original", num_channels: 1, hidden_channels: 8, num_layers: 2 });
  const g = new Graph();
  const shape = [4, 1, 16, 16];
  const real = g.input("real", "float32", shape), fake = g.input("fake", "float32", shape);
  const d = discriminatorLoss({ ...lossOfficial, lecamRegularizationWeight: 0 }, cfg, { real, fake, emaReal: g.scalar(0), emaFake: g.scalar(0) });
  const specs = [...g.paramSpecs.values()];
  assert.ok(specs.every((s) => s.trainable) && specs.every((s) => s.key.startsWith("discriminator.main.")));
  const grads = grad(d.terms.discriminator_loss, specs.map((s) => g.params.get(s.key)!));
  const outputs = Object.fromEntries([["loss", d.terms.discriminator_loss], ...grads.map((t, i) => [`g${i}`, t] as const)]);
  const r = await runGraph(g, outputs, { real: randn(rng, shape), fake: randn(rng, shape) }, ParamStore.init(specs, 9));
  assert.ok(Number.isFinite(r.loss!.at(0)) && r.loss!.at(0) >= 0);
  // Every weight gets a gradient (biases can legitimately get 0: with all logits inside the hinge
  // margin, the last bias's gradient is -1/2 + 1/2).
  grads.forEach((_, i) => {
    if (specs[i]!.key.endsWith(".weight")) assert.ok(r[`g${i}`]!.toNumbers().some((v) => v !== 0), `gradient of ${specs[i]!.key} is not all zero`);
  });
  // The frozen view (generator step) declares the same keys, non-trainable.
  const g2 = new Graph();
  g2.scope("discriminator", () => discriminator(g2.input("x", "float32", shape), cfg, { frozen: true }));
  assert.deepEqual([...g2.paramSpecs.keys()], specs.map((s) => s.key));
  assert.ok([...g2.paramSpecs.values()].every((s) => !s.trainable));
});

test("constant schedule: lr stays at the base after warmup; the default keeps the 10 % floor", () => {
  const constant = lrSchedule(1e-3, 10, 100, 1);
  assert.equal(cosineWithMinimum(constant, 5), 5e-4);
  for (const s of [10, 50, 99, 100]) assert.ok(Math.abs(cosineWithMinimum(constant, s) - 1e-3) < 1e-15);
  assert.ok(Math.abs(cosineWithMinimum(lrSchedule(1e-3, 10, 100), 100) - 1e-4) < 1e-15);
});
