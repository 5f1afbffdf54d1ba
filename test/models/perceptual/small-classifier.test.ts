import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { CompiledGraph } from "../../../src/engine/runtime/session.js";
import { ParamStore } from "../../../src/engine/params.js";
import { grad } from "../../../src/engine/autodiff/grad.js";
import { ConfigError, ShapeError } from "../../../src/engine/errors.js";
import {
  smallClassifier, smallClassifierFashionMnist, smallClassifierParamCount, smallClassifierSpecs,
} from "../../../src/models/perceptual/small-classifier.js";
import { perceptualLoss, smallClassifierPerceptual } from "../../../src/models/perceptual/perceptual-loss.js";
import { Rng, randu } from "../../engine/helpers.js";

const cfg = smallClassifierFashionMnist;

test("small classifier: 288,170 parameters under stages.i.{conv,norm}{1,2} and head", () => {
  assert.equal(smallClassifierParamCount(cfg), 288_170);
  const keys = smallClassifierSpecs(cfg).map((s) => s.key);
  assert.equal(keys[0], "stages.0.conv1.weight");
  assert.deepEqual(keys.slice(-2), ["head.weight", "head.bias"]);
  assert.throws(() => smallClassifierSpecs({ ...cfg, width: 12 }), ConfigError);
  assert.throws(() => smallClassifierSpecs({ ...cfg, mean: [0.5, 0.5] }), ConfigError);
});

test("small classifier forward [4,1,32,32] -> logits [4,10], finite", async () => {
  const g = new Graph();
  const x = g.input("x", "float32", [4, 1, 32, 32]);
  const { logits, features } = smallClassifier(x, cfg);
  assert.deepEqual(logits.shape, [4, 10]);
  assert.deepEqual(features.shape, [4, 128, 4, 4]);
  assert.throws(() => smallClassifier(g.input("bad", "float32", [4, 1, 28, 28]), cfg), ShapeError);
  const compiled = await CompiledGraph.create(g, { logits }, { threads: 2 });
  const out = await compiled.run({ x: randu(new Rng(1), [4, 1, 32, 32]) }, ParamStore.init(g.paramSpecs.values(), 1));
  await compiled.dispose();
  assert.ok(out.logits!.toNumbers().every(Number.isFinite));
});

test("small classifier as perceptual net: 28x28 images are resized to 32; gradient w.r.t. x̂ is finite", async () => {
  const net = smallClassifierPerceptual(cfg);
  const g = new Graph();
  const shape = [3, 1, 28, 28];
  const x = g.input("x", "float32", shape), xHat = g.input("x_hat", "float32", shape);
  const r = perceptualLoss(x, xHat, net, { onLogits: false });
  assert.deepEqual(g.trainableKeys(), [], "frozen inside the loss");
  const [gx] = grad(r.loss, [xHat]);
  const compiled = await CompiledGraph.create(g, { loss: r.loss, gx: gx! }, { threads: 2 });
  const rng = new Rng(4);
  const xv = randu(rng, shape);
  const out = await compiled.run({ x: xv, x_hat: randu(rng, shape) }, ParamStore.init(g.paramSpecs.values(), 2));
  const same = await compiled.run({ x: xv, x_hat: xv }, ParamStore.init(g.paramSpecs.values(), 2));
  await compiled.dispose();
  assert.ok(out.loss!.at(0) > 0 && Number.isFinite(out.loss!.at(0)));
  assert.equal(same.loss!.at(0), 0);
  const gv = out.gx!.toNumbers();
  assert.ok(gv.every(Number.isFinite) && gv.some((v) => v !== 0));
  assert.ok(same.gx!.toNumbers().every((v) => v === 0));
});
