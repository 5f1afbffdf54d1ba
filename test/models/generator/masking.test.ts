import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { CompiledGraph } from "../../../src/engine/runtime/session.js";
import { cast, randomUniform, reduceMean, reduceSum } from "../../../src/engine/ops/index.js";
import { loadGoldenCase } from "../../../src/io/golden.js";
import {
  bernoulliMask, guidanceWeight, guidanceScaleAt, labelDropMask, maskRatio, mlmLoss, numToMask, stepSeed, trainMaskRatio,
} from "../../../src/models/generator/masking.js";
import type { MaskSchedule } from "../../../src/models/generator/config.js";
import { assertGolden, goldenDir } from "./helpers.js";

const golden = loadGoldenCase(goldenDir("schedules"));
const expected = (name: string) => golden.tensors.get(name)!;

for (const steps of [64, 128, 256]) {
  test(`schedules: T=${steps} mask ratios, k per step and masked-before counts (S=512) match exactly`, () => {
    const ratios: number[] = [], ks: number[] = [], before: number[] = [];
    let masked = 512;
    for (let i = 0; i < steps; i++) {
      before.push(masked);
      ratios.push(maskRatio(i, steps, "arccos"));
      const k = numToMask(i, steps, masked, 512, "arccos");
      ks.push(k);
      masked = k;
    }
    assertGolden(HostTensor.f32(ratios), expected(`mask_ratio_T${steps}`), golden.tolerance, `mask_ratio_T${steps}`);
    assertGolden(HostTensor.i64(ks), expected(`num_to_mask_T${steps}`), golden.tolerance, `num_to_mask_T${steps}`);
    assertGolden(HostTensor.i64(before), expected(`masked_before_T${steps}`), golden.tolerance, `masked_before_T${steps}`);
  });
}

test("schedules: spec 3.5 test vectors (T=64 starts 506, 501, 496; ends 81, 57)", () => {
  const counts: number[] = [];
  let masked = 512;
  for (let i = 0; i < 64; i++) counts.push((masked = numToMask(i, 64, masked, 512, "arccos")));
  assert.deepEqual(counts.slice(0, 3), [506, 501, 496]);
  assert.deepEqual(counts.slice(-3, -1), [81, 57]);
});

test("schedules: CFG weights for T=64, p=2.5 and p=3.0 (float32), zero at step 0", () => {
  for (const [p, name] of [[2.5, "cfg_w_T64_pow2p5"], [3.0, "cfg_w_T64_pow3p0"]] as const) {
    const w = Array.from({ length: 64 }, (_, i) => guidanceWeight(i, 64, "cosine", p));
    assertGolden(HostTensor.f32(w), expected(name), golden.tolerance, name);
    assert.equal(w[0], 0);
  }
  assert.equal(guidanceWeight(5, 10, "none", 3), 1);
  assert.equal(guidanceWeight(5, 10, "linear", 3), 0.5);
  assert.equal(guidanceScaleAt(32, 64, 7.1, "cosine", 3), Math.fround(Math.fround(7.1) * guidanceWeight(32, 64, "cosine", 3)));
});

test("schedules: training mask ratio arccos(r) / (pi/2)", () => {
  const r = expected("train_r").toNumbers();
  assertGolden(HostTensor.f32(r.map((x) => trainMaskRatio(x, "arccos"))), expected("train_mask_ratio"), golden.tolerance, "train_mask_ratio");
});

test("numToMask: torch.clamp semantics when one slot is left (upper bound wins: k = 0)", () => {
  assert.equal(numToMask(0, 64, 1, 512, "arccos"), 0);
  assert.equal(numToMask(63, 64, 10, 512, "arccos"), 1);
});

/** Mask fraction per sample for fixed per-sample r values, from the in-graph RNG. */
async function maskStats(schedule: MaskSchedule, rs: number[], slots: number, seed: number): Promise<number[]> {
  const g = new Graph();
  const r = g.input("r", "float32", [rs.length]);
  const shape = g.input("like", "float32", [rs.length, slots, 2]);
  const s = g.input("seed", "int64", []);
  const mask = bernoulliMask(r, randomUniform(shape, s, 11), schedule);
  const frac = reduceMean(cast(mask, "float32"), [1, 2]);
  const compiled = await CompiledGraph.create(g, { frac });
  const out = await compiled.run({ r: HostTensor.f32(rs), like: HostTensor.zeros("float32", [rs.length, slots, 2]), seed: stepSeed(seed, 0) });
  await compiled.dispose();
  return out.frac!.toNumbers();
}

test("Bernoulli masking: each slot is masked independently with probability ratio(r) (within 4.5 sigma)", async () => {
  const rs = [0.01, 0.2, 0.5, 0.8, 0.99];
  const slots = 4096; // x2 groups per sample
  for (const schedule of ["arccos", "linear", "square", "cosine"] as const) {
    const got = await maskStats(schedule, rs, slots, 5);
    rs.forEach((r, i) => {
      const p = trainMaskRatio(r, schedule);
      const sigma = Math.sqrt((p * (1 - p)) / (2 * slots));
      assert.ok(Math.abs(got[i]! - p) < 4.5 * sigma + 1e-6, `${schedule} r=${r}: fraction ${got[i]} vs p ${p}`);
    });
  }
});

test("label dropout: true with probability p per sample", async () => {
  const g = new Graph();
  const like = g.input("like", "int64", [20000]);
  const s = g.input("seed", "int64", []);
  const frac = reduceMean(cast(labelDropMask(randomUniform(like, s, 3), 0.1), "float32"));
  const compiled = await CompiledGraph.create(g, { frac });
  const out = await compiled.run({ like: HostTensor.zeros("int64", [20000]), seed: stepSeed(9, 0) });
  assert.ok(Math.abs(out.frac!.at(0) - 0.1) < 4.5 * Math.sqrt(0.09 / 20000));
  await compiled.dispose();
});

test("mlmLoss: label smoothing against a plain reference, masked-only mean, sum_splits and accuracy", async () => {
  const [b, l, n, c] = [2, 3, 2, 5];
  const logitsData = Array.from({ length: b * l * n * c }, (_, i) => Math.sin(i * 1.7) * 3);
  const targetsData = Array.from({ length: b * l * n }, (_, i) => (i * 3) % c);
  const maskData = Array.from({ length: b * l * n }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const g = new Graph();
  const logits = g.input("logits", "float32", [b, l, n, c]);
  const targets = g.input("targets", "int64", [b, l, n]);
  const mask = g.input("mask", "bool", [b, l, n]);
  const plain = mlmLoss(logits, targets, { labelSmoothing: 0.1, lossMask: mask });
  const summed = mlmLoss(logits, targets, { labelSmoothing: 0.1, sumSplits: true });
  const maskedOnly = mlmLoss(logits, targets, { labelSmoothing: 0.1, lossMask: mask, maskedOnly: true });
  const compiled = await CompiledGraph.create(g, {
    loss: plain.loss, masked: plain.maskedLoss!, acc: plain.correctTokens, maskedAcc: plain.maskedCorrectTokens!, summed: summed.loss,
    maskedOnly: maskedOnly.loss,
  });
  const out = await compiled.run({
    logits: HostTensor.f32(logitsData, [b, l, n, c]), targets: HostTensor.i64(targetsData, [b, l, n]),
    mask: new HostTensor("bool", [b, l, n], Uint8Array.from(maskData)),
  });
  // Reference: q = 0.9 onehot + 0.1 / C; loss = -sum q log softmax.
  const perSlot: number[] = [], correct: number[] = [];
  for (let s = 0; s < b * l * n; s++) {
    const row = logitsData.slice(s * c, s * c + c);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
    const logp = row.map((v) => v - lse);
    perSlot.push(-(0.9 * logp[targetsData[s]!]! + (0.1 / c) * logp.reduce((a, v) => a + v, 0)));
    correct.push(row.indexOf(max) === targetsData[s] ? 1 : 0);
  }
  const mean = (xs: number[]) => xs.reduce((a, v) => a + v, 0) / xs.length;
  const picked = (xs: number[]) => xs.filter((_, i) => maskData[i] === 1);
  const close = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) < 1e-5 * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`);
  close(out.loss!.at(0), mean(perSlot), "loss over all slots");
  close(out.masked!.at(0), mean(picked(perSlot)), "masked-only loss");
  close(out.summed!.at(0), 2 * mean(perSlot), "sum_splits");
  close(out.maskedOnly!.at(0), mean(picked(perSlot)), "maskedOnly optimises the masked mean");
  close(out.acc!.at(0), mean(correct) ** n, "correct_tokens");
  close(out.maskedAcc!.at(0), mean(picked(correct)) ** n, "masked_correct_tokens");
  await compiled.dispose();
});

test("stepSeed: distinct steps of a run give distinct non-negative 31-bit seeds", () => {
  const seen = new Set<bigint>();
  for (let i = 0; i < 1000; i++) {
    const v = (stepSeed(42, i).data as BigInt64Array)[0]!;
    assert.ok(v >= 0n && v < 2n ** 31n);
    seen.add(v);
  }
  assert.equal(seen.size, 1000);
  assert.notEqual((stepSeed(1, 0).data as BigInt64Array)[0], (stepSeed(2, 0).data as BigInt64Array)[0]);
});
