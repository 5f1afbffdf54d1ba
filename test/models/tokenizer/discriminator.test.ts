import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Graph, type Tensor } from "../../../src/engine/graph/tensor.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { CompiledGraph } from "../../../src/engine/runtime/session.js";
import { ParamStore } from "../../../src/engine/params.js";
import { grad } from "../../../src/engine/autodiff/grad.js";
import { CheckpointError, ConfigError } from "../../../src/engine/errors.js";
import { loadGoldenCase } from "../../../src/io/golden.js";
import { loadYaml, type ConfigObject } from "../../../src/config/yaml.js";
import {
  blurKernel, discriminator, discriminatorOfficial, discriminatorParamCount, parseDiscriminatorConfig, type DiscriminatorConfig,
} from "../../../src/models/tokenizer/discriminator.js";
import { discriminatorLoss, generatorGanLoss } from "../../../src/models/tokenizer/losses.js";
import { lossOfficial } from "../../../src/models/tokenizer/loss-config.js";
import { expectGolden } from "../expect-golden.js";
import { Rng } from "../../engine/helpers.js";

const SHARED = join(import.meta.dirname, "../../../../shared");
const golden = loadGoldenCase(join(SHARED, "golden/discriminator"));
const goldenCfg: DiscriminatorConfig = { ...discriminatorOfficial, hiddenChannels: 32 };
const officialYaml = loadYaml(join(SHARED, "reference/official-configs/tokenizer/maskbit_tokenizer_10bit.yaml"));

test("discriminator state dict: official key order, blur buffers equal the binomial kernel", () => {
  const g = new Graph();
  discriminator(g.input("x", "float32", [1, 3, 64, 64]), goldenCfg);
  assert.deepEqual([...g.paramSpecs.keys()], golden.weightKeys.map(([k]) => k));
  const kernel = golden.weights!.get("blocks.0.1.kernel")!;
  assert.deepEqual([...blurKernel(4).data], [...kernel.data]);
  for (const i of [0, 1, 2, 3]) assert.equal(g.paramSpecs.get(`blocks.${i}.1.kernel`)!.trainable, false);
});

test("discriminator parameter counts: official 7,431,297; golden config 472,353", () => {
  assert.equal(discriminatorParamCount(discriminatorOfficial), 7_431_297);
  assert.equal(discriminatorParamCount(goldenCfg), 472_353);
  assert.equal(golden.config.num_parameters, 472_353);
});

test("discriminator config from the official YAML model.discriminator section", () => {
  const section = (officialYaml.model as ConfigObject).discriminator as ConfigObject;
  assert.deepEqual(parseDiscriminatorConfig(section), discriminatorOfficial);
  assert.throws(() => parseDiscriminatorConfig({ ...section, num_layers: 3 }), (e) => e instanceof ConfigError && /num_layers/.test(e.got));
  assert.throws(() => parseDiscriminatorConfig({ ...section, blur_kernel_size: 6 }), ConfigError);
  assert.throws(() => parseDiscriminatorConfig({ ...section, name: "Original" }), ConfigError);
  assert.throws(() => parseDiscriminatorConfig({ ...section, hidden_channels: 48 }), (e) => e instanceof ConfigError && e.scope === "model.discriminator.hidden_channels");
});

test("discriminator strict load names the wrong key", () => {
  const g = new Graph();
  discriminator(g.input("x", "float32", [1, 3, 64, 64]), goldenCfg);
  const renamed = new Map([...golden.weights!].map(([k, v]) => [k === "to_logits.2.bias" ? "to_logits.3.bias" : k, v]));
  assert.throws(() => ParamStore.loadStrict(g.paramSpecs.values(), renamed), (e) =>
    e instanceof CheckpointError && e.got.includes("missing to_logits.2.bias") && e.got.includes("unexpected to_logits.3.bias"));
});

test("discriminator on other sizes and stage counts always yields a 16x16 logit map", async () => {
  const rng = new Rng(7);
  const cases: { cfg: DiscriminatorConfig; hw: [number, number] }[] = [
    { cfg: { ...goldenCfg, numStages: 2 }, hw: [40, 40] },                      // 10x10 -> upsampled
    { cfg: { ...goldenCfg, numStages: 3 }, hw: [33, 47] },                      // odd sizes: asymmetric SAME pads
    { cfg: { ...goldenCfg, numStages: 1, blurKernelSize: 3 }, hw: [64, 64] },   // 32x32 -> max-pooled 2x2
    { cfg: { ...goldenCfg, numStages: 2, blurResample: false }, hw: [32, 32] }, // average-pool variant
    { cfg: { ...goldenCfg, numStages: 2, blurKernelSize: 5, numChannels: 1 }, hw: [28, 28] },
  ];
  for (const { cfg, hw } of cases) {
    const g = new Graph();
    const shape = [2, cfg.numChannels, ...hw];
    const y = discriminator(g.input("x", "float32", shape), cfg);
    assert.deepEqual(y.shape, [2, 1, 16, 16], `${JSON.stringify(cfg)} at ${hw}`);
    const params = ParamStore.init(g.paramSpecs.values(), 3);
    const compiled = await CompiledGraph.create(g, { y }, { threads: 2 });
    const x = HostTensor.f32(Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => rng.uniform()), shape);
    const out = (await compiled.run({ x }, params)).y!;
    await compiled.dispose();
    assert.ok([...(out.data as Float32Array)].every(Number.isFinite));
  }
});

test("discriminator frozen: every weight is declared non-trainable", () => {
  const g = new Graph();
  discriminator(g.input("x", "float32", [1, 3, 32, 32]), goldenCfg, { frozen: true });
  assert.deepEqual(g.trainableKeys(), []);
  assert.equal(g.paramSpecs.size, 26);
});
