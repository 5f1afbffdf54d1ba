import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { ParamStore } from "../../../src/engine/params.js";
import { CompiledGraph } from "../../../src/engine/runtime/session.js";
import { grad } from "../../../src/engine/autodiff/grad.js";
import { ForwardContext } from "../../../src/engine/nn/index.js";
import { CheckpointError } from "../../../src/engine/errors.js";
import { loadGoldenCase } from "../../../src/io/golden.js";
import { readTorchCheckpoint } from "../../../src/io/torch-checkpoint.js";
import { renameLegacyGeneratorKeys } from "../../../src/io/keymap.js";
import { bert, countParameters, generatorParamSpecs, symbolicInputs } from "../../../src/models/generator/transformer.js";
import { mlmLoss } from "../../../src/models/generator/masking.js";
import {
  generator10bit, generator12bit, generator14bit, generator16bit, generator18bit, validateGeneratorConfig, type GeneratorConfig,
} from "../../../src/models/generator/config.js";
import { generatorConfigFromCase } from "../../../src/golden/generator-config.js";
import { goldenDir } from "./helpers.js";

const golden = loadGoldenCase(goldenDir("generator_k10"));
const cfg = generatorConfigFromCase(golden.config);

// The forward pass, MLM losses and gradients are judged against generator_k10 by its golden runner
// (src/golden/generator.ts, test/golden/golden.test.ts); these tests cover the loader and the layout.

test("generator_k10: weights.bin (torch.save, legacy token_emb.* keys) loads strictly after the rename, equal to weights.safetensors", () => {
  const specs = generatorParamSpecs(cfg);
  const raw = readTorchCheckpoint(join(golden.dir, "weights.bin"));
  assert.ok(raw.has("token_emb.weight") && !raw.has("input_proj.weight"));
  assert.throws(() => ParamStore.loadStrict(specs, raw), (e: unknown) =>
    e instanceof CheckpointError && /missing input_proj\.weight/.test(e.got) && /unexpected token_emb\.weight/.test(e.got));
  const params = ParamStore.loadStrict(specs, renameLegacyGeneratorKeys(raw), "weights.bin");
  assert.equal(params.get("bits_to_indices")!.dtype, "int32");
  assert.deepEqual(params.get("bits_to_indices")!.toNumbers(), [1, 2, 4, 8, 16]);
  // Bit for bit the tensors of the safetensors copy, so both files compute the same thing.
  for (const [key, expected] of golden.weights!) {
    const got = params.get(key)!;
    assert.equal(got.dtype, expected.dtype, key);
    assert.deepEqual(got.shape, expected.shape, key);
    assert.deepEqual(got.data, expected.data, key);
  }
});

test("parameter keys and shapes equal the official state dict (order included)", () => {
  const specs = generatorParamSpecs(cfg);
  assert.deepEqual(specs.map((s) => [s.key, s.dtype, [...s.shape]]), golden.weightKeys.map(([k, d, s]) => [k, d, [...s]]));
  assert.equal(countParameters(specs), golden.config.num_parameters);
});

test("parameter counts of the released generators (spec 3.1), without allocating weights", () => {
  const cases: [string, GeneratorConfig, number][] = [
    ["10-bit", generator10bit, 304_728_128],
    ["12-bit", generator12bit, 304_795_776],
    ["14-bit", generator14bit, 304_929_024],
    ["16-bit", generator16bit, 305_193_472],
    ["18-bit", generator18bit, 305_720_320],
    ["12-bit N=1", validateGeneratorConfig({ ...generator12bit, groups: 1 }), 308_862_976],
    ["12-bit N=4", validateGeneratorConfig({ ...generator12bit, groups: 4 }), 304_697_376],
  ];
  for (const [name, c, expected] of cases) {
    const specs = generatorParamSpecs(c);
    assert.equal(countParameters(specs), expected, name);
    assert.equal(specs.length, 301, `${name}: 300 parameters + bits_to_indices`);
  }
});

test("Bert baseline: official key names (tok_emb_list.n, bias.n), tied output weights, trains through grad", async () => {
  const c = validateGeneratorConfig({ ...cfg, arch: "bert" });
  const specs = generatorParamSpecs(c);
  const keys = specs.map((s) => s.key);
  assert.deepEqual(keys.filter((k) => !k.startsWith("transformer.")), [
    "pos_emb", "class_emb.weight", "tok_emb_list.0.weight", "tok_emb_list.1.weight", "first_layer.0.weight", "first_layer.0.bias",
    "last_layer.0.weight", "last_layer.0.bias", "last_layer.2.weight", "last_layer.2.bias", "bias.0", "bias.1",
  ]);
  assert.deepEqual(specs.find((s) => s.key === "tok_emb_list.1.weight")!.shape, [33, 64]);
  assert.deepEqual(specs.find((s) => s.key === "bias.0")!.shape, [16, 32]);

  const g = new Graph();
  const inputs = symbolicInputs(g, c);
  const out = bert(inputs, c, ForwardContext.inference());
  assert.deepEqual(out.logits.shape, ["B", 16, 2, 32]);
  const targets = g.input("targets", "int64", ["B", 16, 2]);
  const loss = mlmLoss(out.logits, targets, { labelSmoothing: 0.1 }).loss;
  const table = g.params.get("tok_emb_list.0.weight")!;
  const [dTable] = grad(loss, [table]);
  const compiled = await CompiledGraph.create(g, { logits: out.logits, dTable: dTable! });
  const params = ParamStore.init(specs, 7);
  const tokens = HostTensor.i64(Array.from({ length: 3 * 32 }, (_, i) => (i * 7) % 33), [3, 16, 2]);
  const got = await compiled.run({
    tokens, labels: HostTensor.i64([1, 2, 3]), dropLabel: new HostTensor("bool", [3], Uint8Array.of(0, 1, 0)),
    targets: HostTensor.i64(Array.from({ length: 96 }, (_, i) => i % 32), [3, 16, 2]),
  }, params);
  assert.deepEqual(got.logits!.shape, [3, 16, 2, 32]);
  // Through the tied head every value row 0..C-1 of the input table receives gradient.
  const d = got.dTable!.data as Float32Array;
  for (let row = 0; row < 32; row++) assert.ok(d.subarray(row * 64, row * 64 + 64).some((v) => v !== 0), `row ${row} has gradient`);
  await compiled.dispose();
});
