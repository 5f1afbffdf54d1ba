// Training-loop behaviour of TrainState: a quadratic problem converges, and resuming from a
// serialized state reproduces the uninterrupted run bit for bit.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { matmul, reduceMean, sub, mul, add } from "../../../src/engine/ops/index.js";
import { ParamStore } from "../../../src/engine/params.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { Rng } from "../../../src/engine/rng.js";
import { TrainState, cosineWithMinimum, type TrainStepOptions } from "../../../src/engine/optim/index.js";

/** Least squares: loss = mean((x W + c - y)^2) with y from a fixed random linear map. */
function regression() {
  const g = new Graph();
  const w = g.scope("lin", () => g.param("weight", [8, 4], { kind: "normal", std: 0.5 }));
  const c = g.scope("lin", () => g.param("bias", [4], { kind: "constant", value: 0 }));
  const x = g.input("x", "float32", ["B", 8]);
  const y = g.input("y", "float32", ["B", 4]);
  const d = sub(add(matmul(x, w), c), y);
  return { g, loss: reduceMean(mul(d, d)) };
}

function batches(n: number, seed: number): { x: HostTensor; y: HostTensor }[] {
  const rng = new Rng(seed);
  const target = Array.from({ length: 32 }, () => rng.normal());
  return Array.from({ length: n }, () => {
    const x = Array.from({ length: 16 * 8 }, () => rng.normal());
    const y = new Float32Array(16 * 4);
    for (let i = 0; i < 16; i++) for (let j = 0; j < 4; j++) {
      let s = 0.3 * j;
      for (let k = 0; k < 8; k++) s += x[i * 8 + k]! * target[k * 4 + j]!;
      y[i * 4 + j] = s;
    }
    return { x: HostTensor.f32(x, [16, 8]), y: new HostTensor("float32", [16, 4], y) };
  });
}

const OPTS: TrainStepOptions = {
  adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4, maxGradNorm: 1.0 },
  emaDecay: 0.999,
  session: { threads: 1 },
};
const lrAt = (step: number) => cosineWithMinimum({ baseLr: 0.05, warmup: 10, total: 300 }, step);

test("a least-squares problem converges under AdamW + clipping + cosine schedule", async () => {
  const { g, loss } = regression();
  const params = ParamStore.init(g.paramSpecs.values(), 1);
  const state = await TrainState.create(loss, params, OPTS);
  const data = batches(300, 2);
  const before = params.get("lin.weight")!.clone();
  const losses: number[] = [];
  for (const b of data) {
    losses.push((await state.run(b, lrAt(state.step))).loss);
    // The first step runs at lr 0 (start of warmup, as in the official run): moments move, weights do not.
    if (state.step === 1) assert.deepEqual(params.get("lin.weight")!.data, before.data);
  }
  const first = losses.slice(1, 11).reduce((s, v) => s + v) / 10;
  const last = losses.slice(-10).reduce((s, v) => s + v) / 10;
  assert.ok(last < first * 1e-2, `loss should fall 100x: ${first} -> ${last}`);
  await state.dispose();
});

test("resuming from stateDict + saved params reproduces the uninterrupted run exactly", async () => {
  const data = batches(10, 4);
  const a = regression();
  const paramsA = ParamStore.init(a.g.paramSpecs.values(), 9);
  const full = await TrainState.create(a.loss, paramsA, OPTS);
  let saved: { params: Map<string, HostTensor>; opt: Map<string, HostTensor> } | undefined;
  for (let i = 0; i < data.length; i++) {
    if (i === 4) saved = { params: new Map([...paramsA.values].map(([k, v]) => [k, v.clone()])), opt: full.stateDict() };
    await full.run(data[i]!, lrAt(full.step));
  }

  const b = regression();
  const paramsB = ParamStore.loadStrict(b.g.paramSpecs.values(), saved!.params);
  const resumed = await TrainState.create(b.loss, paramsB, OPTS);
  resumed.loadStateDict(saved!.opt);
  assert.equal(resumed.step, 4);
  assert.equal(resumed.emaUpdates, 4);
  for (let i = 4; i < data.length; i++) await resumed.run(data[i]!, lrAt(resumed.step));

  for (const key of paramsA.keys()) assert.deepEqual(paramsB.get(key)!.data, paramsA.get(key)!.data, key);
  const sa = full.stateDict(), sb = resumed.stateDict();
  assert.deepEqual([...sb.keys()].sort(), [...sa.keys()].sort());
  for (const [k, v] of sa) assert.deepEqual(sb.get(k)!.data, v.data, k);
  // The saved checkpoint tensors were copies: training on never changed them.
  assert.equal(saved!.opt.get("optimizer.step")!.at(0), 4);
  await full.dispose();
  await resumed.dispose();
});

test("loadStateDict reports every missing, unexpected and mis-shaped entry at once", async () => {
  const { g, loss } = regression();
  const state = await TrainState.create(loss, ParamStore.init(g.paramSpecs.values(), 1), OPTS);
  const sd = state.stateDict();
  sd.delete("optimizer.m.lin.bias");
  sd.set("optimizer.v.lin.weight", HostTensor.zeros("float32", [4, 8]));
  sd.set("optimizer.extra", HostTensor.zeros("float32", [1]));
  assert.throws(() => state.loadStateDict(sd), (e: Error) =>
    /missing optimizer\.m\.lin\.bias/.test(e.message) && /optimizer\.v\.lin\.weight: expected float32\[8, 4\]/.test(e.message) && /unexpected optimizer\.extra/.test(e.message));
  await state.dispose();
});

test("a trained key replaced in the store is adopted (copied into the optimizer's own buffer)", async () => {
  const { g, loss } = regression();
  const params = ParamStore.init(g.paramSpecs.values(), 3);
  const state = await TrainState.create(loss, params, OPTS);
  const [b0, b1] = batches(2, 5);
  await state.run(b0!, 0.01);
  const restored = HostTensor.f32(Array.from({ length: 32 }, (_, i) => i / 32), [8, 4]);
  params.set("lin.weight", restored);
  await state.run(b1!, 0); // lr 0: the weights stay what was restored
  assert.notEqual(params.get("lin.weight"), restored);
  assert.deepEqual(params.get("lin.weight")!.data, restored.data);
  await state.dispose();
});

/** Least squares through two layers of different shapes, with an extra logged output. */
function twoLayers() {
  const g = new Graph();
  const w1 = g.scope("l1", () => g.param("weight", [8, 6], { kind: "normal", std: 0.5 }));
  const w2 = g.scope("l2", () => g.param("weight", [6, 4], { kind: "normal", std: 0.5 }));
  const c = g.scope("l2", () => g.param("bias", [4], { kind: "constant", value: 0.1 }));
  const x = g.input("x", "float32", ["B", 8]);
  const y = g.input("y", "float32", ["B", 4]);
  const h = matmul(x, w1);
  const d = sub(add(matmul(h, w2), c), y);
  return { g, loss: reduceMean(mul(d, d)), extra: reduceMean(mul(h, h)) };
}

for (const [name, opts] of [
  ["clipping and EMA", OPTS],
  ["no clipping, no EMA", { ...OPTS, adamw: { ...OPTS.adamw, maxGradNorm: undefined }, emaDecay: undefined }],
  ["two of three tensors trained", { ...OPTS, trainable: ["l1.weight", "l2.bias"] }],
] as const) {
  test(`a separate tensor-by-tensor update gives the fused step's numbers bit for bit (${name})`, async () => {
    const data = batches(6, 8);
    const runs = [];
    for (const fusedUpdateMaxBytes of [Infinity, 0]) {
      const { g, loss, extra } = twoLayers();
      const params = ParamStore.init(g.paramSpecs.values(), 4);
      const state = await TrainState.create(loss, params, { ...opts, fusedUpdateMaxBytes, outputs: { extra } });
      assert.equal(state.fusedUpdate, fusedUpdateMaxBytes > 0);
      const log: number[] = [];
      for (const b of data) {
        const r = await state.run(b, 0.05);
        log.push(r.loss, r.gradNorm, r.outputs.extra!.at(0));
      }
      runs.push({ params, state, log });
    }
    const [fused, separate] = runs as [typeof runs[0], typeof runs[0]];
    assert.deepEqual(separate.log, fused.log);
    for (const key of fused.params.keys()) assert.deepEqual(separate.params.get(key)!.data, fused.params.get(key)!.data, key);
    const sa = fused.state.stateDict(), sb = separate.state.stateDict();
    assert.deepEqual([...sb.keys()], [...sa.keys()]);
    for (const [k, v] of sa) assert.deepEqual(sb.get(k)!.data, v.data, k);
    // The weights did move, and the store holds the optimizer's current buffers.
    assert.notDeepEqual(separate.params.get("l1.weight")!.data, ParamStore.init(twoLayers().g.paramSpecs.values(), 4).get("l1.weight")!.data);
    for (const r of runs) await r.state.dispose();
  });
}
