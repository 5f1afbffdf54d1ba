import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { CompiledGraph } from "../../../src/engine/runtime/session.js";
import { grad } from "../../../src/engine/autodiff/grad.js";
import { reshape, slice } from "../../../src/engine/ops/index.js";
import { CheckpointError } from "../../../src/engine/errors.js";
import { formulaWeights, loadGoldenCase } from "../../../src/io/golden.js";
import { writeSafetensors } from "../../../src/io/safetensors.js";
import {
  RESNET50_PARAM_COUNT, loadResNet50, readResNet50Weights, resnet50ParamCount, resnet50Specs,
} from "../../../src/models/perceptual/resnet50.js";
import { perceptualInput, perceptualLoss, resnet50Perceptual } from "../../../src/models/perceptual/perceptual-loss.js";
import { expectGolden } from "../expect-golden.js";
import { Rng, randn } from "../../engine/helpers.js";

const GOLDEN = join(import.meta.dirname, "../../../../shared/golden");
const golden = loadGoldenCase(join(GOLDEN, "perceptual_resnet50"));
const weights = formulaWeights(golden.raw);

test("ResNet-50: torchvision keys in state-dict order, 25,557,032 parameters", () => {
  assert.equal(resnet50ParamCount(), 25_557_032);
  assert.equal(RESNET50_PARAM_COUNT, 25_557_032);
  const specs = resnet50Specs();
  const listed = (golden.raw.formula_weights as { key: string; shape: number[]; dtype: string }[]);
  assert.deepEqual(specs.map((s) => s.key), listed.map((e) => e.key));
  specs.forEach((s, i) => {
    assert.deepEqual([...s.shape], listed[i]!.shape, s.key);
    assert.equal(s.dtype, listed[i]!.dtype, s.key);
  });
  assert.ok(specs.filter((s) => /running_|num_batches/.test(s.key)).every((s) => !s.trainable));
});

test("ResNet-50 strict load: wrong keys and shapes are all reported; a missing num_batches_tracked is not", () => {
  const bad = new Map(weights);
  bad.delete("fc.bias");
  bad.set("fc.bias_typo", weights.get("fc.bias")!);
  bad.set("layer1.0.conv1.weight", HostTensor.zeros("float32", [64, 64, 3, 3]));
  assert.throws(() => loadResNet50(bad), (e) =>
    e instanceof CheckpointError && e.got.includes("missing fc.bias") && e.got.includes("unexpected fc.bias_typo") &&
    e.got.includes("layer1.0.conv1.weight: expected float32[64, 64, 1, 1], found float32[64, 64, 3, 3]"));
  const old = new Map([...weights].filter(([k]) => !k.endsWith("num_batches_tracked")));
  const store = loadResNet50(old, "perceptual_loss.model.");
  assert.equal(store.get("perceptual_loss.model.bn1.num_batches_tracked")!.dtype, "int64");
  assert.equal(store.size, weights.size);
});

test("ResNet-50 weights from a safetensors file; a torch file of another model is refused by key", () => {
  const dir = mkdtempSync(join(tmpdir(), "resnet50-"));
  try {
    const file = join(dir, "resnet50.safetensors");
    writeSafetensors(file, weights);
    const store = readResNet50Weights(file);
    assert.deepEqual([...store.get("fc.bias")!.data], [...weights.get("fc.bias")!.data]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // A real torch.save zip (the tokenizer fixture) goes through the torch reader, then fails strictly.
  assert.throws(() => readResNet50Weights(join(GOLDEN, "tokenizer_k10/weights.bin")), (e) =>
    e instanceof CheckpointError && e.got.includes("missing conv1.weight") && e.got.includes("unexpected encoder.conv_in.weight"));
});

test("ResNet-50 perceptual loss: gradient w.r.t. x̂ is finite and matches finite differences", async () => {
  const params = loadResNet50(weights);
  const g = new Graph();
  const shape = [1, 3, 32, 32];
  const x = g.input("x", "float32", shape), xHat = g.input("x_hat", "float32", shape);
  const loss = perceptualLoss(x, xHat, resnet50Perceptual).loss;
  assert.deepEqual(g.trainableKeys(), [], "the perceptual network is frozen");
  const [gx] = grad(loss, [xHat]);
  const compiled = await CompiledGraph.create(g, { loss, gx: gx! }, { threads: 2 });
  const rng = new Rng(3);
  const xv = HostTensor.f32(randn(rng, shape).data.map((v) => 0.5 + 0.2 * v), shape);
  const hv = HostTensor.f32(xv.data.map((v) => v + 0.1 * rng.normal()), shape);
  const out = await compiled.run({ x: xv, x_hat: hv }, params);
  const gv = out.gx!.toNumbers();
  assert.ok(gv.every(Number.isFinite) && gv.some((v) => v !== 0));
  // A deep ReLU net leaves its linear regime quickly: a small step keeps the difference quotient honest.
  const dir = randn(rng, shape), eps = 1e-3;
  const at = async (s: number) => (await compiled.run({ x: xv, x_hat: HostTensor.f32(hv.data.map((v, i) => v + s * eps * dir.data[i]!), shape) }, params)).loss!.at(0);
  const fd = ((await at(1)) - (await at(-1))) / (2 * eps);
  await compiled.dispose();
  const analytic = gv.reduce((s, v, i) => s + v * dir.data[i]!, 0);
  assert.ok(Math.abs(fd - analytic) <= 0.05 * Math.abs(analytic) + 1e-6, `finite difference ${fd} vs analytic ${analytic}`);
});
