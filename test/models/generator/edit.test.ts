import { test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { MaskbitError } from "../../../src/engine/errors.js";
import { Generator } from "../../../src/models/generator/generator.js";
import { generator10bit, validateGeneratorConfig } from "../../../src/models/generator/config.js";
import { groupMask, regionTokenMask } from "../../../src/models/generator/token-mask.js";
import { ParamStore } from "../../../src/engine/params.js";
import { loadGoldenCase } from "../../../src/io/golden.js";
import { generatorParamSpecs } from "../../../src/models/generator/transformer.js";
import { samplerCaseGeneratorConfig } from "../../../src/golden/generator-config.js";
import { at, goldenDir } from "./helpers.js";

// A tiny random generator: 4x4 grid, 10-bit ids in 2 groups of 5, 3 classes, guidance on.
const cfg = validateGeneratorConfig({
  ...generator10bit, hiddenDim: 32, depth: 1, heads: 2, mlpDim: 64, numClasses: 3, tokenGrid: 4,
  sampling: { ...generator10bit.sampling, steps: 6, guidanceScale: 1.5, randomizeTemperature: 1 },
});
const gen = Generator.random(cfg, 3);
const L = 16;

/** Deterministic pseudo-random ids [B, 4, 4] in [0, 1024). */
function someIds(batch: number, salt = 1): HostTensor {
  return HostTensor.i64(Array.from({ length: batch * L }, (_, i) => (i * 7919 + salt * 104729) % 1024), [batch, 4, 4]);
}
const bools = (v: number[], shape: number[]) => new HostTensor("bool", shape, Uint8Array.from(v));

test("complete: a full mask gives exactly sample()'s ids for the same seed (token for token)", async () => {
  for (const seed of [1, 2]) {
    const labels = [0, 2];
    const plain = await gen.sample({ labels, seed });
    const full = await gen.complete({ ids: someIds(2), mask: bools(Array(2 * L).fill(1), [2, 4, 4]), labels, seed });
    assert.deepEqual(full.ids.toNumbers(), plain.ids.toNumbers(), `seed ${seed}`);
    assert.deepEqual(Array.from(full.bits.data as Float32Array), Array.from(plain.bits.data as Float32Array));
    assert.deepEqual(full.unknownSlots, [2 * L, 2 * L]);
  }
  // Without guidance (a different compiled sampler) too, and with a batch-1 mask used for both rows.
  const plain = await gen.sample({ labels: [1, 1], seed: 5, guidanceScale: 0 });
  const full = await gen.complete({ ids: someIds(1), mask: bools(Array(L).fill(1), [1, 4, 4]), labels: [1, 1], seed: 5, guidanceScale: 0 });
  assert.deepEqual(full.ids.toNumbers(), plain.ids.toNumbers());
});

test("complete: a full mask with the official draws of golden sampler_k10 gives sample()'s ids on its weights", async () => {
  const golden = loadGoldenCase(goldenDir("sampler_k10"));
  const gcfg = samplerCaseGeneratorConfig(golden);
  const g = await Generator.load({ config: gcfg, params: ParamStore.loadStrict(generatorParamSpecs(gcfg), loadGoldenCase(goldenDir("generator_k10")).weights!) });
  const draws = (name: string, i: number) => at(golden.tensors.get(name)!, i);
  const random = { kind: "uniforms" as const, at: (i: number) => ({ categorical: draws("uniform_cat", i), gumbel: draws("gumbel_u", i) }) };
  const labels = golden.tensors.get("labels")!.toNumbers();
  const l = gcfg.tokenGrid ** 2;
  try {
    const plain = await g.sample({ labels, random });
    const full = await g.complete({ ids: HostTensor.i64(Array(labels.length * l).fill(0), [labels.length, l]), mask: bools(Array(l).fill(1), [1, l]), labels, random });
    assert.deepEqual(full.ids.toNumbers(), plain.ids.toNumbers());
    assert.equal(full.seed, undefined);
  } finally {
    await g.dispose();
  }
});

test("complete: an empty mask returns the input ids unchanged", async () => {
  const ids = someIds(2, 3);
  const out = await gen.complete({ ids, mask: bools(Array(2 * L).fill(0), [2, 4, 4]), labels: [0, 1], seed: 1 });
  assert.deepEqual(out.ids.shape, [2, 4, 4]);
  assert.deepEqual(out.ids.toNumbers(), ids.toNumbers());
  assert.deepEqual(out.unknownSlots, [0, 0]);
  // bits are the ids' +-1 bits, LSB first, [B, K, h, w]
  assert.equal(out.bits.data[(1 * 10 + 3) * L + 5], (ids.at(L + 5) >> 3) & 1 ? 1 : -1);
});

test("complete: unmasked tokens are never changed, masked ones are regenerated, per-sample masks may differ", async () => {
  const ids = someIds(3, 2);
  // Row 0: a 2x2 hole; row 1: a single unknown token (the schedule's k = 0 case at once); row 2: nothing.
  const mask = new Uint8Array(3 * L);
  for (const t of [5, 6, 9, 10]) mask[t] = 1;
  mask[L + 15] = 1;
  const steps: number[] = [];
  for (const seed of [1, 2, 3]) {
    const out = await gen.complete({ ids, mask: bools([...mask], [3, 4, 4]), labels: [0, 1, 2], seed, steps: 8, onStep: (s) => void steps.push(s.numMasked) });
    const got = out.ids.toNumbers(), want = ids.toNumbers();
    for (let i = 0; i < 3 * L; i++) if (!mask[i]) assert.equal(got[i], want[i], `seed ${seed}: known token ${i}`);
    assert.ok(got.every((v) => Number.isInteger(v) && v >= 0 && v < 1024));
    assert.deepEqual(out.unknownSlots, [8, 2, 0]);
  }
  assert.equal(steps.length, 3 * 8);
  // The schedule counts the 8 unknown slots of row 0 only, down to 0 before the last step ends.
  assert.ok(steps[0]! < 8 && steps[0]! >= 1, `after step 0: ${steps[0]} masked`);
  // Different seeds give different completions of the hole somewhere.
  const a = await gen.complete({ ids, mask: bools([...mask], [3, 4, 4]), labels: [0, 1, 2], seed: 11 });
  const b = await gen.complete({ ids, mask: bools([...mask], [3, 4, 4]), labels: [0, 1, 2], seed: 12 });
  assert.notDeepEqual(a.ids.toNumbers().slice(0, L), b.ids.toNumbers().slice(0, L));
});

test("complete: a group mask regenerates only those groups; the other groups keep their bits", async () => {
  const ids = someIds(2, 5);
  const tokens = regionTokenMask(4, 4, { x: 1, y: 0, width: 3, height: 2 });
  const high = groupMask(tokens, [1], cfg.groups); // bits 5..9 unknown, bits 0..4 kept
  const changed = new Set<number>();
  for (const seed of [1, 2, 3, 4]) {
    const out = await gen.complete({ ids, mask: high, labels: [2, 0], seed });
    assert.deepEqual(out.unknownSlots, [6, 6]);
    const got = out.ids.toNumbers(), want = ids.toNumbers();
    for (let i = 0; i < 2 * L; i++) {
      const t = i % L;
      assert.equal(got[i]! & 31, want[i]! & 31, `low group of token ${i}`);
      if (!tokens.data[t]) assert.equal(got[i], want[i], `unmasked token ${i}`);
      else if (got[i] !== want[i]) changed.add(i);
    }
  }
  assert.ok(changed.size > 0, "some high groups were regenerated");
});

test("complete: the per-step callback and AbortSignal work as in sample()", async () => {
  const seen: number[] = [];
  const mask = regionTokenMask(4, 4, { x: 0, y: 0, width: 4, height: 2 });
  await gen.complete({ ids: someIds(1), mask, labels: [1], seed: 1, onStep: (s) => void seen.push(s.step) });
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
  const ac = new AbortController();
  await assert.rejects(gen.complete({ ids: someIds(1), mask, labels: [1], seed: 1, signal: ac.signal, onStep: (s) => { if (s.step === 1) ac.abort(); } }), { name: "AbortError" });
});

test("complete: bad ids and masks are clear MaskbitErrors", async () => {
  const ok = regionTokenMask(4, 4, { x: 0, y: 0, width: 1, height: 1 });
  const bad = async (o: Parameters<Generator["complete"]>[0], re: RegExp) => {
    await assert.rejects(gen.complete(o), (e: unknown) => e instanceof MaskbitError && re.test(e.message));
  };
  await bad({ ids: someIds(1), mask: bools(Array(25).fill(1), [1, 5, 5]), labels: [0] }, /mask.*token mask \[1 or 1, 4, 4\]/);
  await bad({ ids: someIds(1), mask: bools(Array(3 * L).fill(1), [3, 4, 4]), labels: [0, 1] }, /mask/);
  await bad({ ids: HostTensor.i64(Array(25).fill(0), [1, 5, 5]), mask: ok, labels: [0] }, /generator's grid/);
  await bad({ ids: HostTensor.i64(Array(L).fill(1024), [1, 4, 4]), mask: ok, labels: [0] }, /ids in \[0, 1024\)/);
  await bad({ ids: someIds(1), mask: ok, labels: [] }, /at least one label/);
  await bad({ ids: someIds(1), mask: ok, labels: [7] }, /labels in \[0, 3\)/);
  await bad({ ids: someIds(1), mask: bools(Array(L).fill(0), [1, 4, 4]), labels: [3] }, /labels in \[0, 3\)/);
});

test("outpaint: the canvas grows by whole tokens, the original tokens stay in place, every new token is filled, seeds reproduce", async () => {
  const ids = someIds(1, 4);
  const windows: Array<[number, number]> = [];
  const run = (seed: number) => gen.outpaint({ ids, pad: { left: 2, bottom: 1 }, labels: [0, 1], seed, onWindow: (w) => void windows.push([w.x, w.y]) });
  const a = await run(3);
  assert.deepEqual(a.ids.shape, [2, 5, 6]);
  const got = a.ids.toNumbers(), want = ids.toNumbers();
  for (let b = 0; b < 2; b++) for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) assert.equal(got[(b * 5 + y) * 6 + x + 2], want[y * 4 + x]);
  assert.ok(got.every((v) => v >= 0 && v < 1024));
  assert.equal(a.generated.toNumbers().reduce((s, v) => s + v, 0), 30 - 16);
  assert.ok(a.windows >= 1 && a.windows === windows.length);
  assert.deepEqual((await run(3)).ids.toNumbers(), got);
  await assert.rejects(gen.outpaint({ ids, pad: {}, labels: [0] }), MaskbitError);
  await assert.rejects(gen.outpaint({ ids, pad: { left: 1.5 }, labels: [0] }), MaskbitError);
});

test.after(() => gen.dispose());
