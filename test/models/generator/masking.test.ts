import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { CompiledGraph } from "../../../src/engine/runtime/session.js";
import { cast, randomUniform, reduceMean } from "../../../src/engine/ops/index.js";
import {
  bernoulliMask, guidanceWeight, guidanceScaleAt, labelDropMask, maskRatio, mlmLoss, numToMask, stepSeed, trainMaskRatio,
} from "../../../src/models/generator/masking.js";
import type { MaskSchedule } from "../../../src/models/generator/config.js";

// The `schedules` golden case (mask counts and ratios for T = 64/128/256, CFG ramps, training mask
// ratios) is judged by its golden runner (src/golden/schedules.ts, test/golden/golden.test.ts).

test("schedules: spec 3.5 test vectors (T=64 starts 506, 501, 496; ends 81, 57)", () => {
  const counts: number[] = [];
  let masked = 512;
  for (let i = 0; i < 64; i++) counts.push((masked = numToMask(i, 64, masked, 512, "arccos")));
  assert.deepEqual(counts.slice(0, 3), [506, 501, 496]);
  assert.deepEqual(counts.slice(-3, -1), [81, 57]);
});

test("guidanceWeight: the cosine ramp is 0 at step 0, rises monotonically towards 1 (float32); linear and none", () => {
  for (const p of [2.5, 3.0]) {
    const w = Array.from({ length: 64 }, (_, i) => guidanceWeight(i, 64, "cosine", p));
    assert.equal(w[0], 0);
    w.forEach((v, i) => assert.equal(v, Math.fround(v), `w[${i}] is a float32`));
    for (let i = 1; i < 64; i++) assert.ok(w[i]! >= w[i - 1]! && w[i]! < 1, `p=${p}: w[${i}] = ${w[i]}`);
    assert.ok(w[63]! > 0.9);
    // At i/T = 0.5^(1/p) the ramp is cos-halfway: 0.5 (up to float32 rounding).
    assert.ok(Math.abs(guidanceWeight(1, 2 ** (1 / p), "cosine", p) - 0.5) < 1e-6);
  }
  assert.equal(guidanceWeight(5, 10, "none", 3), 1);
  assert.equal(guidanceWeight(5, 10, "linear", 3), 0.5);
  assert.equal(guidanceScaleAt(32, 64, 7.1, "cosine", 3), Math.fround(Math.fround(7.1) * guidanceWeight(32, 64, "cosine", 3)));
});

test("trainMaskRatio: arccos(r) / (pi/2) in float32, 1 at r = 0 and 0 at r = 1", () => {
  assert.equal(trainMaskRatio(0, "arccos"), 1);
  assert.equal(trainMaskRatio(1, "arccos"), 0);
  for (const r of [0.1, 0.5, 0.9]) {
    const v = trainMaskRatio(r, "arccos");
    assert.equal(v, Math.fround(v));
    assert.ok(Math.abs(v - Math.acos(r) / (Math.PI / 2)) < 1e-6, `r=${r}: ${v}`);
  }
});

test("numToMask: torch.clamp semantics when one slot is left (upper bound wins: k = 0)", () => {
  assert.equal(numToMask(0, 64, 1, 512, "arccos"), 0);
  assert.equal(numToMask(63, 64, 10, 512, "arccos"), 1);
  // The last step's ratio arccos(1) = 0 is clamped up to 1e-6 (float32).
  assert.equal(maskRatio(63, 64, "arccos"), Math.fround(1e-6));
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
