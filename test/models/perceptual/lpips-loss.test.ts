import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { CompiledGraph } from "../../../src/engine/runtime/session.js";
import { ParamStore } from "../../../src/engine/params.js";
import { grad } from "../../../src/engine/autodiff/grad.js";
import { ShapeError } from "../../../src/engine/errors.js";
import { smallClassifier, smallClassifierParamCount, smallClassifierSpecs, type SmallClassifierConfig } from "../../../src/models/perceptual/small-classifier.js";
import { resnet50Perceptual, smallClassifierPerceptual } from "../../../src/models/perceptual/perceptual-loss.js";
import { channelNormalised, lpipsLoss } from "../../../src/models/perceptual/lpips-loss.js";
import { Rng, assertGradients, randn, randu } from "../../engine/helpers.js";

// A residual net small enough for finite differences: 8x8 grey images, widths 8 and 16.
const tiny: SmallClassifierConfig = { arch: "residual", inChannels: 1, numClasses: 3, width: 8, numStages: 2, imageSize: 8, mean: [0.5], std: [0.5] };
const SCOPE = "perceptual_loss.model";

async function lpipsSession(cfg: SmallClassifierConfig, batch: number, seed: number) {
  const net = smallClassifierPerceptual(cfg, "small_classifier_lpips");
  const g = new Graph();
  const x = g.input("x", "float32", [batch, 1, cfg.imageSize, cfg.imageSize]);
  const xHat = g.input("x_hat", "float32", [batch, 1, cfg.imageSize, cfg.imageSize]);
  const loss = lpipsLoss(x, xHat, net, { scope: SCOPE });
  const [gradXHat] = grad(loss, [xHat]);
  const params = ParamStore.init(g.paramSpecs.values(), seed);
  const compiled = await CompiledGraph.create(g, { loss, grad: gradXHat! }, { threads: 1 });
  const lossOnly = await CompiledGraph.create(g, { loss }, { threads: 1 });
  return {
    async run(a: HostTensor, b: HostTensor) { return compiled.run({ x: a, x_hat: b }, params); },
    async loss(a: HostTensor, b: HostTensor) { return (await lossOnly.run({ x: a, x_hat: b }, params)).loss!.at(0); },
    async dispose() { await compiled.dispose(); await lossOnly.dispose(); },
  };
}

test("residual small classifier: stem, stages.i.{conv,norm}{1,2}, 1x1 skip where widths change; stage outputs at 32, 16, 8", async () => {
  const cfg: SmallClassifierConfig = { ...tiny, width: 16, numStages: 3, imageSize: 32, numClasses: 10 };
  const keys = smallClassifierSpecs(cfg).map((s) => s.key);
  assert.equal(keys[0], "stem.weight");
  assert.ok(keys.includes("stages.1.skip.weight") && !keys.includes("stages.0.skip.weight"));
  // 3x3 convs 1->16, 16->16 x2, 16->32, 32->32, 32->64, 64->64; skips 16x32, 32x64; GroupNorm pairs; head.
  const convs = 9 * (16 + 2 * 256 + 16 * 32 + 32 * 32 + 32 * 64 + 64 * 64) + 16 * 32 + 32 * 64;
  const norms = 2 * (16 + 2 * 16 + 2 * 32 + 2 * 64);
  assert.equal(smallClassifierParamCount(cfg), convs + norms + 64 * 10 + 10);
  const g = new Graph();
  const out = smallClassifier(g.input("x", "float32", [2, 1, 32, 32]), cfg);
  assert.deepEqual(out.stages.map((s) => s.shape), [[2, 16, 32, 32], [2, 32, 16, 16], [2, 64, 8, 8]]);
  assert.deepEqual(out.features.shape, [2, 64, 8, 8]);
  assert.deepEqual(out.logits.shape, [2, 10]);
});

test("channel normalisation: unit length per pixel; gradient matches finite differences", async () => {
  const rng = new Rng(4);
  await assertGradients((f) => channelNormalised(f!), [randn(rng, [2, 3, 2, 3])], { eps: 1e-2, rtol: 3e-2, atol: 2e-3 });
  const g = new Graph();
  const f = g.input("f", "float32", [1, 4, 2, 2]);
  const compiled = await CompiledGraph.create(g, { n: channelNormalised(f) }, { threads: 1 });
  const n = (await compiled.run({ f: randn(rng, [1, 4, 2, 2]) })).n!;
  await compiled.dispose();
  for (let p = 0; p < 4; p++) {
    let s = 0;
    for (let c = 0; c < 4; c++) s += n.at(c * 4 + p) ** 2;
    assert.ok(Math.abs(s - 1) < 1e-5, `pixel ${p}: squared length ${s}`);
  }
});

test("LPIPS-style loss: 0 for identical images, > 0 for different ones, larger for larger changes", async () => {
  const rng = new Rng(7);
  const s = await lpipsSession(tiny, 3, 11);
  try {
    const x = randu(rng, [3, 1, 8, 8]);
    const same = await s.run(x, x.clone());
    assert.equal(same.loss!.at(0), 0);
    assert.ok(same.grad!.toNumbers().every((v) => Math.abs(v) < 1e-6), "no gradient at the minimum");
    const near = x.clone(), far = x.clone();
    for (let i = 0; i < near.size; i++) {
      const d = rng.normal();
      (near.data as Float32Array)[i]! += 0.02 * d;
      (far.data as Float32Array)[i]! += 0.3 * d;
    }
    const a = await s.loss(x, near), b = await s.loss(x, far);
    assert.ok(a > 0 && b > a, `near ${a}, far ${b}`);
    assert.ok(b <= 4 * tiny.numStages, `each layer's term is at most 4 (got ${b})`);
  } finally {
    await s.dispose();
  }
});

test("LPIPS-style loss: gradient w.r.t. the reconstruction matches central differences", async () => {
  const rng = new Rng(9);
  const s = await lpipsSession(tiny, 2, 5);
  try {
    const x = randu(rng, [2, 1, 8, 8]), xHat = randu(rng, [2, 1, 8, 8]);
    const analyticGrad = (await s.run(x, xHat)).grad! as HostTensor<Float32Array>;
    const eps = 1e-2;
    for (let d = 0; d < 4; d++) {
      const dir = Float32Array.from({ length: xHat.size }, () => rng.normal());
      const plus = xHat.clone() as HostTensor<Float32Array>, minus = xHat.clone() as HostTensor<Float32Array>;
      for (let i = 0; i < dir.length; i++) { plus.data[i]! += eps * dir[i]!; minus.data[i]! -= eps * dir[i]!; }
      const numeric = ((await s.loss(x, plus)) - (await s.loss(x, minus))) / (2 * eps);
      let analytic = 0;
      for (let i = 0; i < dir.length; i++) analytic += analyticGrad.data[i]! * dir[i]!;
      assert.ok(Math.abs(analytic - numeric) <= 2e-3 + 3e-2 * Math.max(Math.abs(analytic), Math.abs(numeric)), `direction ${d}: analytic ${analytic} vs numeric ${numeric}`);
    }
  } finally {
    await s.dispose();
  }
});

test("LPIPS-style loss: mismatched images and networks without stages are ShapeErrors", () => {
  const g = new Graph();
  const a = g.input("a", "float32", [1, 1, 8, 8]), b = g.input("b", "float32", [1, 1, 4, 4]);
  const net = smallClassifierPerceptual(tiny, "small_classifier_lpips");
  assert.throws(() => lpipsLoss(a, b, net), ShapeError);
  const rgb = g.input("c", "float32", [1, 3, 8, 8]);
  assert.throws(() => lpipsLoss(rgb, rgb, { ...resnet50Perceptual, inputSize: [8, 8], forward: () => ({ logits: rgb, features: rgb }) }), ShapeError);
});
