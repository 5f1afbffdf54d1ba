// The compiled training step (grad + clip + AdamW + EMA in one session) against an independent
// float32 host implementation of PyTorch's formulas, over several steps with varying lr.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { add, mul, reduceSum } from "../../../src/engine/ops/index.js";
import { ParamStore } from "../../../src/engine/params.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { Rng } from "../../../src/engine/rng.js";
import { TrainState, type AdamWConfig } from "../../../src/engine/optim/index.js";
import { emaDecay } from "../../../src/engine/optim/schedule.js";
import { refAdamW, refClip, refEma, type RefState } from "./reference.js";
import { assertClose } from "./helpers.js";

/** loss = sum(a * ra) + 0.5 * sum(b * b) + sum(c * rc): grads are ra and b exactly; c is frozen. */
function problem() {
  const g = new Graph();
  const a = g.param("a", [3, 4], { kind: "normal", std: 1 });
  const b = g.scope("blk", () => g.param("b", [5], { kind: "normal", std: 1 }));
  const c = g.param("c", [2, 3], { kind: "normal", std: 1 });
  const ra = g.input("ra", "float32", [3, 4]);
  const rc = g.input("rc", "float32", [2, 3]);
  const termA = reduceSum(mul(a, ra));
  const loss = add(add(termA, mul(reduceSum(mul(b, b)), 0.5)), reduceSum(mul(c, rc)));
  return { g, loss, termA };
}

const LRS = [1e-3, 5e-3, 0.02, 0.01, 0.003, 0.0];

async function compare(cfg: AdamWConfig, scale: number, emaMax?: number) {
  const { g, loss, termA } = problem();
  const params = ParamStore.init(g.paramSpecs.values(), 7);
  const frozenC = params.get("c")!;
  const frozenCopy = frozenC.clone();
  const ref = new Map<string, RefState>();
  const ema = new Map<string, Float32Array>();
  for (const k of ["a", "blk.b"]) {
    const p = params.get(k)!.data as Float32Array;
    ref.set(k, { p: p.slice(), m: new Float32Array(p.length), v: new Float32Array(p.length) });
    ema.set(k, p.slice());
  }
  const state = await TrainState.create(loss, params, {
    adamw: cfg, trainable: ["a", "blk.b"], emaDecay: emaMax, outputs: { termA }, session: { threads: 1 },
  });
  const rng = new Rng(3);
  for (let i = 0; i < LRS.length; i++) {
    const ra = HostTensor.f32(Array.from({ length: 12 }, () => rng.normal() * scale), [3, 4]);
    const rc = HostTensor.f32(Array.from({ length: 6 }, () => rng.normal()), [2, 3]);
    const r = await state.run({ ra, rc }, LRS[i]!);

    const grads = [ra.data.slice() as Float32Array, ref.get("blk.b")!.p.slice()];
    const norm = refClip(grads, cfg.maxGradNorm);
    refAdamW(ref.get("a")!, grads[0]!, i + 1, { ...cfg, lr: LRS[i]! });
    refAdamW(ref.get("blk.b")!, grads[1]!, i + 1, { ...cfg, lr: LRS[i]! });
    if (emaMax !== undefined) for (const k of ref.keys()) refEma(ema.get(k)!, ref.get(k)!.p, emaDecay(i + 1, emaMax));

    assertClose([r.gradNorm], [norm], 0, 1e-6, `gradNorm step ${i + 1}`);
    assert.ok(Number.isFinite(r.loss));
    assert.deepEqual(r.outputs.termA?.shape, []);
    const sd = state.stateDict();
    for (const [k, s] of ref) {
      assertClose(params.get(k)!.data as Float32Array, s.p, 1e-7, 1e-6, `${k} step ${i + 1}`);
      assertClose(sd.get(`optimizer.m.${k}`)!.data as Float32Array, s.m, 1e-7, 1e-6, `m ${k} step ${i + 1}`);
      assertClose(sd.get(`optimizer.v.${k}`)!.data as Float32Array, s.v, 1e-9, 1e-6, `v ${k} step ${i + 1}`);
      if (emaMax !== undefined) assertClose(state.emaParams()!.get(k)!.data as Float32Array, ema.get(k)!, 1e-7, 1e-6, `ema ${k} step ${i + 1}`);
    }
  }
  assert.equal(state.step, LRS.length);
  // Frozen parameters are fed, never replaced or written.
  assert.equal(params.get("c"), frozenC);
  assert.deepEqual(frozenC.data, frozenCopy.data);
  await state.dispose();
  return state;
}

const BASE: AdamWConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

test("AdamW with weight decay and bias correction matches PyTorch's formula (no clipping)", async () => {
  await compare(BASE, 1);
});

test("AdamW with inactive clipping (norm below the threshold) matches", async () => {
  await compare({ ...BASE, maxGradNorm: 1000 }, 1);
});

test("AdamW with active clipping matches clip_grad_norm_ + AdamW", async () => {
  await compare({ ...BASE, maxGradNorm: 0.5, beta2: 0.96, weightDecay: 0.045 }, 10);
});

test("EMA over several steps follows the warmup decay and the shadow update (first update copies)", async () => {
  const state = await compare({ ...BASE, maxGradNorm: 1 }, 1, 0.999);
  assert.equal(state.emaUpdates, LRS.length);
});

test("TrainState rejects buffers, unknown keys and reserved feed names", async () => {
  const { g, loss } = problem();
  g.param("table", [2], { kind: "constant", value: 1 }, { trainable: false });
  const params = ParamStore.init(g.paramSpecs.values(), 1);
  await assert.rejects(TrainState.create(loss, params, { adamw: BASE, trainable: ["a", "table", "nope"] }), /table: a buffer.*nope: not a parameter/);
});
