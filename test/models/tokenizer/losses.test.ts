import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readdirSync } from "node:fs";
import { Graph, type Tensor } from "../../../src/engine/graph/tensor.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { CompiledGraph } from "../../../src/engine/runtime/session.js";
import { ParamStore } from "../../../src/engine/params.js";
import { grad } from "../../../src/engine/autodiff/grad.js";
import { mul } from "../../../src/engine/ops/index.js";
import { ConfigError } from "../../../src/engine/errors.js";
import { loadYaml, type ConfigObject } from "../../../src/config/yaml.js";
import { discriminator, discriminatorOfficial, type DiscriminatorConfig } from "../../../src/models/tokenizer/discriminator.js";
import {
  DISCRIMINATOR_SCOPE, PERCEPTUAL_SCOPE, discriminatorLoss, generatorLoss, type GeneratorTerm,
} from "../../../src/models/tokenizer/losses.js";
import {
  discriminatorFactorAt, entropyAnnealingAt, lossOfficial, parseLossConfig, shouldTrainDiscriminator, type LossConfig,
} from "../../../src/models/tokenizer/loss-config.js";
import { smallClassifierPerceptual } from "../../../src/models/perceptual/perceptual-loss.js";
import { smallClassifierFashionMnist } from "../../../src/models/perceptual/small-classifier.js";
import { Rng, randn, randu } from "../../engine/helpers.js";

const CONFIGS = join(import.meta.dirname, "../../../../shared/reference/official-configs/tokenizer");
const dCfg: DiscriminatorConfig = { ...discriminatorOfficial, hiddenChannels: 32, numStages: 2 };
const rgbClassifier = smallClassifierPerceptual({ ...smallClassifierFashionMnist, inChannels: 3, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
const SHAPE = [2, 3, 32, 32];

test("loss config: every official tokenizer YAML parses; the LFQ ones equal lossOfficial", () => {
  for (const file of readdirSync(CONFIGS)) {
    const cfg = parseLossConfig(loadYaml(join(CONFIGS, file)).losses as ConfigObject);
    if (file.startsWith("maskbit_tokenizer")) assert.deepEqual(cfg, lossOfficial, file);
    else assert.deepEqual(cfg, { ...lossOfficial, entropyAnnealingFactor: 0 }, file);
  }
  const base = loadYaml(join(CONFIGS, "maskbit_tokenizer_10bit.yaml")).losses as ConfigObject;
  assert.throws(() => parseLossConfig({ ...base, lpips_weight: 1 }), (e) => e instanceof ConfigError && e.got === "lpips_weight");
  assert.throws(() => parseLossConfig({ ...base, discriminator_gradient_penalty: "adopt_weight" }), ConfigError);
  assert.throws(() => parseLossConfig({ ...base, perceptual_loss: "lpips" }), (e) => e instanceof ConfigError && e.scope === "losses.perceptual_loss");
  assert.throws(() => parseLossConfig({ ...base, reconstruction_loss: "l3" }), ConfigError);
  assert.equal(parseLossConfig({ ...base, ema_decay: 0.99 }).emaDecay, 0.99);
});

test("loss schedules: discriminator factor switches at 20,000; entropy annealing 2 -> 0 over 2,000 steps", () => {
  assert.equal(discriminatorFactorAt(lossOfficial, 19_999), 0);
  assert.equal(discriminatorFactorAt(lossOfficial, 20_000), 1);
  assert.equal(shouldTrainDiscriminator(lossOfficial, 19_999), false);
  assert.equal(shouldTrainDiscriminator(lossOfficial, 20_000), true);
  assert.deepEqual([0, 500, 1000, 2000, 9000].map((s) => entropyAnnealingAt(lossOfficial, s)), [2, 1.5, 1, 0, 0]);
  assert.equal(entropyAnnealingAt({ ...lossOfficial, entropyAnnealingFactor: 0 }, 0), 0);
});

interface GeneratorSetup {
  readonly g: Graph;
  readonly terms: Record<GeneratorTerm, Tensor>;
  readonly fake: Tensor;
  readonly params: ParamStore;
}

/** A generator-side graph whose "generator" is one trainable scale: x̂ = fake * gen.scale. */
function generatorSetup(cfg: LossConfig): GeneratorSetup {
  const g = new Graph();
  const x = g.input("x", "float32", SHAPE);
  const fake = g.input("fake", "float32", SHAPE);
  const xHat = mul(fake, g.scope("gen", () => g.param("scale", [1], { kind: "constant", value: 1 })));
  const scalar = (name: string) => g.input(name, "float32", []);
  const terms = generatorLoss(cfg, {
    x, xHat, quantizerLoss: scalar("in.quantizer_loss"), entropyLoss: scalar("in.entropy_loss"),
    entropyAnnealing: scalar("in.entropy_annealing"), discriminatorFactor: scalar("in.discriminator_factor"),
  }, { perceptual: rgbClassifier, discriminator: dCfg });
  return { g, terms, fake, params: ParamStore.init(g.paramSpecs.values(), 11) };
}

test("generator loss: the weighted total is exactly the official recipe", async () => {
  const cfg: LossConfig = { ...lossOfficial, perceptualLoss: "small_classifier" };
  const { g, terms, params } = generatorSetup(cfg);
  assert.deepEqual(g.trainableKeys(), ["gen.scale"], "discriminator and perceptual weights are frozen");
  assert.ok([...g.paramSpecs.keys()].some((k) => k.startsWith(`${PERCEPTUAL_SCOPE}.stages.0.`)));
  // The discriminator alone, with the same weights, for the expected adversarial term.
  const dOnly = new Graph();
  const dLogits = dOnly.scope(DISCRIMINATOR_SCOPE, () => discriminator(dOnly.input("fake", "float32", SHAPE), dCfg));
  const rng = new Rng(5);
  const xv = randu(rng, SHAPE), fv = randu(rng, SHAPE);
  const feeds = {
    x: xv, fake: fv, "in.quantizer_loss": HostTensor.scalar(0.7), "in.entropy_loss": HostTensor.scalar(-0.3),
    "in.entropy_annealing": HostTensor.scalar(entropyAnnealingAt(cfg, 500)), "in.discriminator_factor": HostTensor.scalar(discriminatorFactorAt(cfg, 25_000)),
  };
  const compiled = await CompiledGraph.create(g, terms, { threads: 2 });
  const out = await compiled.run(feeds, params);
  const dCompiled = await CompiledGraph.create(dOnly, { dLogits }, { threads: 2 });
  const logits = (await dCompiled.run({ fake: fv }, params)).dLogits!;
  await Promise.all([compiled.dispose(), dCompiled.dispose()]);
  const v = (k: GeneratorTerm) => out[k]!.at(0);

  const mse = xv.data.reduce((s, a, i) => s + (a - fv.data[i]!) ** 2, 0) / xv.size;
  const meanLogit = logits.toNumbers().reduce((a, b) => a + b, 0) / logits.size;
  assert.ok(Math.abs(v("reconstruction_loss") - 4 * mse) < 1e-5 * 4 * mse);
  assert.ok(Math.abs(v("quantizer_loss") - (0.7 + 1.5 * -0.3)) < 1e-6);
  assert.ok(Math.abs(v("gan_loss") + meanLogit) < 1e-5);
  assert.ok(Math.abs(v("weighted_gan_loss") - 0.02 * v("gan_loss")) < 1e-7);
  assert.ok(v("perceptual_loss") > 0, "perceptual term present");
  const sum = v("reconstruction_loss") + v("perceptual_loss") + v("quantizer_loss") + v("weighted_gan_loss");
  assert.ok(Math.abs(v("total_loss") - sum) < 1e-6 * Math.max(1, Math.abs(sum)));
});

test("generator adversarial gradient reaches x̂ through the frozen discriminator; D and perceptual weights get none", async () => {
  // Unit adversarial weight so that the finite differences below are well above float32 noise.
  const cfg: LossConfig = { ...lossOfficial, perceptualWeight: 0, reconstructionWeight: 0, quantizerWeight: 0, discriminatorWeight: 1 };
  const { g, terms, fake, params } = generatorSetup(cfg);
  // Only the stand-in generator parameter is trainable: D (and the perceptual net) are frozen.
  assert.deepEqual(g.trainableKeys(), ["gen.scale"]);
  assert.ok([...g.paramSpecs.keys()].some((k) => k.startsWith(`${DISCRIMINATOR_SCOPE}.`)));
  const [gFake, gScale] = grad(terms.total_loss, [fake, g.params.get("gen.scale")!]);
  const compiled = await CompiledGraph.create(g, { loss: terms.total_loss, gFake: gFake!, gScale: gScale! }, { threads: 2 });
  const rng = new Rng(9);
  const base = {
    x: randu(rng, SHAPE), "in.quantizer_loss": HostTensor.scalar(0), "in.entropy_loss": HostTensor.scalar(0), "in.entropy_annealing": HostTensor.scalar(0),
  };
  const fv = randu(rng, SHAPE);
  const run = (f: HostTensor, factor: number) => compiled.run({ ...base, fake: f, "in.discriminator_factor": HostTensor.scalar(factor) }, params);

  const before = await run(fv, 0);
  assert.ok(before.gFake!.toNumbers().every((d) => d === 0), "no adversarial gradient before discriminator_start");
  const after = await run(fv, 1);
  const gx = after.gFake!.toNumbers();
  assert.ok(gx.some((d) => d !== 0) && gx.every(Number.isFinite), "adversarial gradient reaches x̂");
  assert.ok(Number.isFinite(after.gScale!.at(0)) && after.gScale!.at(0) !== 0, "and the generator parameter");

  // Central differences along a random direction agree with the analytic gradient.
  const dir = randn(rng, SHAPE);
  const eps = 1e-3;
  const shifted = (s: number) => HostTensor.f32(fv.data.map((a, i) => a + s * eps * dir.data[i]!), SHAPE);
  const fd = ((await run(shifted(1), 1)).loss!.at(0) - (await run(shifted(-1), 1)).loss!.at(0)) / (2 * eps);
  const analytic = gx.reduce((s, d, i) => s + d * dir.data[i]!, 0);
  await compiled.dispose();
  assert.ok(Math.abs(fd - analytic) <= 0.03 * Math.abs(analytic) + 1e-5, `finite difference ${fd} vs analytic ${analytic}`);
});

test("discriminator loss: reconstructions are detached; LeCam off passes the EMAs through", async () => {
  const g = new Graph();
  const real = g.input("real", "float32", SHAPE), fake = g.input("fake", "float32", SHAPE);
  const emaReal = g.input("ema_real", "float32", []), emaFake = g.input("ema_fake", "float32", []);
  const r = discriminatorLoss(lossOfficial, dCfg, { real, fake, emaReal, emaFake });
  assert.ok(g.trainableKeys().every((k) => k.startsWith(`${DISCRIMINATOR_SCOPE}.`)) && g.trainableKeys().length === 14);
  const [gFake] = grad(r.terms.discriminator_loss, [fake]);
  const off = discriminatorLoss({ ...lossOfficial, lecamRegularizationWeight: 0 }, dCfg, { real, fake, emaReal, emaFake });
  const compiled = await CompiledGraph.create(g, { loss: r.terms.discriminator_loss, gFake: gFake!, ema: off.emaRealOut, lecam: off.terms.lecam_loss }, { threads: 2 });
  const rng = new Rng(2);
  const out = await compiled.run({ real: randu(rng, SHAPE), fake: randu(rng, SHAPE), ema_real: HostTensor.scalar(0.25), ema_fake: HostTensor.scalar(-1) },
    ParamStore.init(g.paramSpecs.values(), 4));
  await compiled.dispose();
  assert.ok(out.gFake!.toNumbers().every((d) => d === 0));
  assert.equal(out.ema!.at(0), 0.25);
  assert.equal(out.lecam!.at(0), 0);
  assert.equal(PERCEPTUAL_SCOPE, "perceptual_loss.model");
});

test("generator loss refuses a perceptual net other than the configured one, and half the annealing inputs", () => {
  const g = new Graph();
  const x = g.input("x", "float32", SHAPE), xHat = g.input("x_hat", "float32", SHAPE), q = g.input("q", "float32", []);
  assert.throws(() => generatorLoss(lossOfficial, { x, xHat, quantizerLoss: q }, { perceptual: rgbClassifier }),
    (e) => e instanceof ConfigError && e.got === '"small_classifier"');
  assert.throws(() => generatorLoss({ ...lossOfficial, perceptualWeight: 0 }, { x, xHat, quantizerLoss: q, entropyLoss: q }), ConfigError);
  assert.throws(() => generatorLoss({ ...lossOfficial, perceptualWeight: 0 }, { x, xHat, quantizerLoss: q }, { discriminator: dCfg }), ConfigError);
});
