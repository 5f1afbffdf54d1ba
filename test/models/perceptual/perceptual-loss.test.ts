import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { CompiledGraph } from "../../../src/engine/runtime/session.js";
import { ShapeError } from "../../../src/engine/errors.js";
import {
  IMAGENET_MEAN, IMAGENET_STD, perceptualInput, perceptualLoss, resnet50Perceptual, smallClassifierPerceptual,
} from "../../../src/models/perceptual/perceptual-loss.js";
import { smallClassifierFashionMnist } from "../../../src/models/perceptual/small-classifier.js";
import { Rng, randu } from "../../engine/helpers.js";

test("perceptual input: images at the net's size are only normalised, per channel", async () => {
  const net = { ...resnet50Perceptual, inputSize: [8, 8] as const };
  const g = new Graph();
  const x = g.input("x", "float32", [1, 3, 8, 8]);
  const y = perceptualInput(x, net);
  const compiled = await CompiledGraph.create(g, { y }, { threads: 1 });
  const xv = randu(new Rng(1), [1, 3, 8, 8]);
  const out = (await compiled.run({ x: xv })).y!;
  await compiled.dispose();
  for (let i = 0; i < xv.size; i++) {
    const c = Math.floor(i / 64);
    assert.ok(Math.abs(out.at(i) - (xv.at(i) - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!) < 1e-6);
  }
});

test("perceptual input: resize to 224 keeps a constant image constant", async () => {
  const g = new Graph();
  const y = perceptualInput(g.input("x", "float32", [1, 3, 50, 70]), resnet50Perceptual);
  assert.deepEqual(y.shape, [1, 3, 224, 224]);
  const compiled = await CompiledGraph.create(g, { y }, { threads: 1 });
  const out = (await compiled.run({ x: HostTensor.f32(new Array(3 * 50 * 70).fill(0.485), [1, 3, 50, 70]) })).y!;
  await compiled.dispose();
  const red = out.toNumbers().slice(0, 224 * 224);
  assert.ok(red.every((v) => Math.abs(v) < 1e-5));
});

test("perceptual loss rejects mismatched images and wrong channel counts", () => {
  const g = new Graph();
  const a = g.input("a", "float32", [1, 3, 32, 32]), b = g.input("b", "float32", [1, 3, 16, 16]);
  assert.throws(() => perceptualLoss(a, b, resnet50Perceptual), ShapeError);
  assert.throws(() => perceptualLoss(a, a, smallClassifierPerceptual(smallClassifierFashionMnist)), ShapeError);
});
