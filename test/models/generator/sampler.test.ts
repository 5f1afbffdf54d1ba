import { test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { ParamStore } from "../../../src/engine/params.js";
import { FeedError } from "../../../src/engine/errors.js";
import { loadGoldenCase } from "../../../src/io/golden.js";
import { Sampler, type SamplerStep } from "../../../src/models/generator/sampler.js";
import { generatorParamSpecs } from "../../../src/models/generator/transformer.js";
import { maskId } from "../../../src/models/generator/config.js";
import { assertGolden, at, goldenDir, goldenGeneratorConfig, scalar0 } from "./helpers.js";

const golden = loadGoldenCase(goldenDir("sampler_k10"));
const weights = loadGoldenCase(goldenDir("generator_k10")).weights!;
const sc = golden.config;
const cfg = goldenGeneratorConfig(sc.generator as never, {
  steps: sc.num_steps as number, guidanceScale: sc.guidance_scale as number, scalePow: sc.scale_pow as number,
  randomizeTemperature: sc.randomize_temperature as number, softmaxTemperature: sc.softmax_temperature as number,
});
const params = ParamStore.loadStrict(generatorParamSpecs(cfg), weights);
const labels = golden.tensors.get("labels")!.toNumbers();
const expected = (name: string) => golden.tensors.get(name)!;

const goldenUniforms = {
  kind: "uniforms" as const,
  at: (i: number) => ({ categorical: at(expected("uniform_cat"), i), gumbel: at(expected("gumbel_u"), i) }),
};

test("sampler_k10: every step (counts, CFG scale, logits, probs, draws, scores, re-masking) and the final ids", async () => {
  assert.deepEqual(labels, [3, 7]);
  const sampler = await Sampler.create(cfg, params, { batch: 2, guidance: true, randomness: "uniforms", trace: true });
  const steps: SamplerStep[] = [];
  const result = await sampler.run({ labels, settings: cfg.sampling, random: goldenUniforms, onStep: (s) => void steps.push(s) });
  assert.equal(steps.length, 8);
  for (const s of steps) {
    const i = s.step, t = s.trace!;
    const check = (got: HostTensor, name: string) => assertGolden(got, at(expected(name), i), golden.tolerance, `${name}[${i}]`);
    check(scalar0(t.numMaskedBefore, "int64"), "num_masked_before");
    check(scalar0(t.numToMask, "int64"), "num_to_mask");
    check(scalar0(t.cfgScale, "float32"), "cfg_scale");
    check(t.tokensBefore, "tokens_before_step");
    check(t.modelLogits, "model_logits");
    check(t.probs, "probs");
    check(t.rawSamples, "raw_samples");
    check(s.predicted, "predicted_tokens");
    check(t.scoresSorted, "scores_sorted");
  }
  assertGolden(result.groups, expected("final_group_tokens"), golden.tolerance, "final_group_tokens");
  assertGolden(result.ids, expected("final_ids"), golden.tolerance, "final_ids");
  // bits are the decoder's input: +-1, LSB first, [B, K, H, W].
  assert.deepEqual(result.bits.shape, [2, 10, 4, 4]);
  const ids = result.ids.toNumbers(), bits = result.bits.data as Float32Array;
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
  // Same counts as the golden loop (they do not depend on the draws).
  assert.deepEqual(masked.slice(0, 7), expected("num_masked_before").toNumbers().slice(1));
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

test("sampler: a fixed uniform source reproduces the golden ids with fresh tensors (no state leaks between runs)", async () => {
  const sampler = await Sampler.create(cfg, params, { batch: 2, guidance: true, randomness: "uniforms" });
  for (let k = 0; k < 2; k++) {
    const out = await sampler.run({ labels, settings: cfg.sampling, random: goldenUniforms });
    assertGolden(out.ids, expected("final_ids"), golden.tolerance, "final_ids");
  }
  await sampler.dispose();
});
