import { test } from "node:test";
import assert from "node:assert/strict";
import { ParamStore } from "../../../src/engine/params.js";
import { FeedError } from "../../../src/engine/errors.js";
import { loadGoldenCase } from "../../../src/io/golden.js";
import { Sampler, type SamplerStep } from "../../../src/models/generator/sampler.js";
import { generatorParamSpecs } from "../../../src/models/generator/transformer.js";
import { maskId, numSlots } from "../../../src/models/generator/config.js";
import { guidanceScaleAt, numToMask } from "../../../src/models/generator/masking.js";
import { samplerCaseGeneratorConfig } from "../../../src/golden/generator-config.js";
import { at, goldenDir } from "./helpers.js";

const golden = loadGoldenCase(goldenDir("sampler_k10"));
const weights = loadGoldenCase(goldenDir("generator_k10")).weights!;
const cfg = samplerCaseGeneratorConfig(golden);
const params = ParamStore.loadStrict(generatorParamSpecs(cfg), weights);
const labels = golden.tensors.get("labels")!.toNumbers();
const input = (name: string) => golden.tensors.get(name)!;

// The stored draws of sampler_k10, as inputs only: the case's traces and final ids are judged by its
// golden runner (src/golden/sampler.ts, test/golden/golden.test.ts).
const goldenUniforms = {
  kind: "uniforms" as const,
  at: (i: number) => ({ categorical: at(input("uniform_cat"), i), gumbel: at(input("gumbel_u"), i) }),
};

/** k_i for every step of the configured schedule: the masked count after step i (i < T - 1). */
function maskCounts(steps: number): number[] {
  const ks: number[] = [];
  let masked = numSlots(cfg);
  for (let i = 0; i < steps; i++) ks.push((masked = numToMask(i, steps, masked, numSlots(cfg), cfg.sampling.maskSchedule)));
  return ks;
}

test("sampler: a traced run has one trace per step with the host schedule, consistent shapes, and bits = LSB-first +-1 of the ids", async () => {
  const sampler = await Sampler.create(cfg, params, { batch: 2, guidance: true, randomness: "uniforms", trace: true });
  const steps: SamplerStep[] = [];
  const result = await sampler.run({ labels, settings: cfg.sampling, random: goldenUniforms, onStep: (s) => void steps.push(s) });
  const s = cfg.sampling, ks = maskCounts(s.steps);
  assert.equal(steps.length, s.steps);
  for (const { step: i, trace: t, predicted } of steps) {
    assert.equal(t!.numMaskedBefore, i === 0 ? numSlots(cfg) : ks[i - 1], `numMaskedBefore[${i}]`);
    assert.equal(t!.numToMask, ks[i], `numToMask[${i}]`);
    assert.equal(t!.cfgScale, guidanceScaleAt(i, s.steps, s.guidanceScale, s.guidanceAnnealing, s.scalePow), `cfgScale[${i}]`);
    assert.deepEqual(t!.tokensBefore.shape, [2, 16, 2]);
    assert.deepEqual(t!.modelLogits.shape, [4, 16, 2, 32]);
    assert.deepEqual(t!.probs.shape, [2, 16, 2, 32]);
    assert.deepEqual(t!.rawSamples.shape, [2, 16, 2]);
    assert.deepEqual(t!.scoresSorted.shape, [2, 32]);
    // Fixed slots keep their token; masked ones take the draw.
    const before = t!.tokensBefore.toNumbers(), raw = t!.rawSamples.toNumbers(), pred = predicted.toNumbers();
    pred.forEach((v, j) => assert.equal(v, before[j] === maskId(cfg) ? raw[j] : before[j], `predicted[${i}][${j}]`));
  }
  assert.deepEqual(result.groups.toNumbers(), steps.at(-1)!.predicted.toNumbers());
  const groups = result.groups.toNumbers(), ids = result.ids.toNumbers();
  for (let p = 0; p < 32; p++) assert.equal(ids[p], groups[2 * p]! + (groups[2 * p + 1]! << 5), `id ${p} from its groups`);
  // bits are the decoder's input: +-1, LSB first, [B, K, H, W].
  assert.deepEqual(result.bits.shape, [2, 10, 4, 4]);
  const bits = result.bits.data as Float32Array;
  for (let b = 0; b < 2; b++) for (let p = 0; p < 16; p++) for (let j = 0; j < 10; j++) {
    assert.equal(bits[((b * 10 + j) * 16) + p], (ids[b * 16 + p]! >> j) & 1 ? 1 : -1);
  }
  await sampler.dispose();
});

test("sampler: in-graph randomness is reproducible from the seed, fills every slot and follows the mask schedule", async () => {
  const sampler = await Sampler.create(cfg, params, { batch: 2, guidance: true, randomness: "seed" });
  const masked: number[] = [];
  const run = (seed: number) => sampler.run({ labels, settings: cfg.sampling, random: { kind: "seed", seed }, onStep: (s) => void masked.push(s.numMasked) });
  const a = await run(1), b = await run(1), c = await run(2);
  assert.deepEqual(a.ids.toNumbers(), b.ids.toNumbers());
  assert.notDeepEqual(a.ids.toNumbers(), c.ids.toNumbers());
  assert.ok(a.groups.toNumbers().every((v) => v >= 0 && v < maskId(cfg)));
  // The counts follow the schedule whatever the draws (no ties at these sizes).
  assert.deepEqual(masked.slice(0, 7), maskCounts(8).slice(0, 7));
  await sampler.dispose();
});

test("sampler: guidanceScale 0 runs a single conditional pass; mismatched requests are refused", async () => {
  const sampler = await Sampler.create(cfg, params, { batch: 1, guidance: false, randomness: "seed" });
  const out = await sampler.run({ labels: [5], settings: { ...cfg.sampling, guidanceScale: 0, steps: 4 }, random: { kind: "seed", seed: 3 } });
  assert.deepEqual(out.ids.shape, [1, 16]);
  const refuse = (req: Partial<Parameters<Sampler["run"]>[0]>) =>
    assert.rejects(sampler.run({ labels: [5], settings: { ...cfg.sampling, guidanceScale: 0 }, random: { kind: "seed", seed: 3 }, ...req }), FeedError);
  await refuse({ labels: [10] });
  await refuse({ labels: [1, 2] });
  await refuse({ settings: cfg.sampling });
  await refuse({ random: goldenUniforms });
  await sampler.dispose();
});

test("sampler: an AbortSignal stops the loop between steps with an AbortError", async () => {
  const sampler = await Sampler.create(cfg, params, { batch: 2, guidance: true, randomness: "seed" });
  const controller = new AbortController();
  let seen = 0;
  await assert.rejects(
    sampler.run({ labels, settings: cfg.sampling, random: { kind: "seed", seed: 1 }, signal: controller.signal, onStep: () => { if (++seen === 3) controller.abort(); } }),
    (e: unknown) => e instanceof Error && e.name === "AbortError",
  );
  assert.equal(seen, 3);
  await sampler.dispose();
});

test("sampler: a fixed uniform source gives the same ids on every run and with or without trace (no state leaks between runs)", async () => {
  const traced = await Sampler.create(cfg, params, { batch: 2, guidance: true, randomness: "uniforms", trace: true });
  const reference = (await traced.run({ labels, settings: cfg.sampling, random: goldenUniforms })).ids.toNumbers();
  await traced.dispose();
  const sampler = await Sampler.create(cfg, params, { batch: 2, guidance: true, randomness: "uniforms" });
  for (let k = 0; k < 2; k++) {
    const out = await sampler.run({ labels, settings: cfg.sampling, random: goldenUniforms });
    assert.deepEqual(out.ids.toNumbers(), reference, `run ${k}`);
  }
  await sampler.dispose();
});

test("sampler: one symbolic-batch session samples batches of 1, 3 and 2 token for token like a fixed-batch session of each size", async () => {
  const any = await Sampler.create(cfg, params, { guidance: true, randomness: "seed" });
  const traced = await Sampler.create(cfg, params, { guidance: true, randomness: "uniforms", trace: true });
  for (const batchLabels of [[7], [0, 9, 4], labels]) {
    const fixed = await Sampler.create(cfg, params, { batch: batchLabels.length, guidance: true, randomness: "seed" });
    const req = { labels: batchLabels, settings: cfg.sampling, random: { kind: "seed" as const, seed: 11 } };
    const [a, b] = [await any.run(req), await fixed.run(req)];
    assert.deepEqual(a.ids.shape, [batchLabels.length, 16]);
    assert.deepEqual(a.ids.toNumbers(), b.ids.toNumbers(), `batch ${batchLabels.length}`);
    assert.deepEqual(a.bits.toNumbers(), b.bits.toNumbers());
    await fixed.dispose();
  }
  // The doubled batch keeps the conditional rows first: the golden draws give the golden trace shapes.
  const steps: SamplerStep[] = [];
  await traced.run({ labels, settings: cfg.sampling, random: goldenUniforms, onStep: (s) => void steps.push(s) });
  assert.deepEqual(steps[0]!.trace!.modelLogits.shape, [4, 16, 2, 32]);
  await assert.rejects(any.run({ labels: [], settings: cfg.sampling, random: { kind: "seed", seed: 1 } }), FeedError);
  await any.dispose();
  await traced.dispose();
});
