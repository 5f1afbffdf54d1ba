import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "../../../src/engine/errors.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { Generator } from "../../../src/models/generator/generator.js";
import { generator10bit, validateGeneratorConfig, type GeneratorConfig } from "../../../src/models/generator/config.js";
import { linearWeightKeys } from "../../../src/models/generator/transformer.js";
import type { InferenceDType } from "../../../src/engine/quant/weights.js";

// A tiny random generator: 4x4 grid, 10-bit ids in 2 groups of 5, 3 classes, guidance on.
const cfg = validateGeneratorConfig({
  ...generator10bit, hiddenDim: 32, depth: 2, heads: 2, mlpDim: 64, numClasses: 3, tokenGrid: 4,
  sampling: { ...generator10bit.sampling, steps: 4, guidanceScale: 1.5, randomizeTemperature: 1 },
});
const L = 16;

const ids = (batch: number) => HostTensor.i64(Array.from({ length: batch * L }, (_, i) => (i * 7919 + 13) % 1024), [batch, L]);
const withDtype = (c: GeneratorConfig, dtype: InferenceDType, seed = 4) =>
  Generator.load({ config: c, params: Generator.random(c, seed).params }, { dtype, session: { threads: 1 } });

/** Relative L2 error, max abs error and the fraction of (position, group) argmaxes that agree. */
function compare(ref: HostTensor, got: HostTensor, vocab: number): { relL2: number; maxAbs: number; argmax: number } {
  const a = ref.data as Float32Array, b = got.data as Float32Array;
  let num = 0, den = 0, maxAbs = 0, agree = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2; den += a[i]! ** 2; maxAbs = Math.max(maxAbs, Math.abs(a[i]! - b[i]!));
  }
  const rows = a.length / vocab;
  const arg = (x: Float32Array, r: number) => { let k = 0; for (let j = 1; j < vocab; j++) if (x[r * vocab + j]! > x[r * vocab + k]!) k = j; return k; };
  for (let r = 0; r < rows; r++) if (arg(a, r) === arg(b, r)) agree++;
  return { relL2: Math.sqrt(num / den), maxAbs, argmax: agree / rows };
}

test("linearWeightKeys: every projection of the trunk and head, nothing else", () => {
  const keys = linearWeightKeys(cfg);
  assert.equal(keys.length, 2 + cfg.depth * 4 + 1);
  for (const k of ["input_proj.weight", "prediction_layer.weight", "last_layer.0.weight", "transformer.layers.0.0.mha.in_proj_weight",
    "transformer.layers.1.0.mha.out_proj.weight", "transformer.layers.1.1.net.0.weight", "transformer.layers.1.1.net.2.weight"]) {
    assert.ok(keys.includes(k), k);
  }
  assert.ok(!keys.some((k) => k.includes("emb") || k.includes("norm") || k.endsWith("bias")), keys.join(", "));
});

for (const arch of ["lfq_bert", "bert"] as const) {
  test(`${arch}: fp16 and int8 logits stay within tolerance of fp32 (and do differ from it)`, async () => {
    const c = validateGeneratorConfig({ ...cfg, arch });
    const gens = await Promise.all((["fp32", "fp16", "int8"] as const).map((d) => withDtype(c, d)));
    try {
      const req = { ids: ids(2), labels: [0, 2] };
      const [ref, half, int8] = await Promise.all(gens.map((g) => g.logits(req)));
      const vocab = 2 ** (c.tokenBits / c.groups);
      const h = compare(ref!, half!, vocab), q = compare(ref!, int8!, vocab);
      assert.ok(h.relL2 > 0 && q.relL2 > 0, `reduced paths must change the logits (fp16 ${h.relL2}, int8 ${q.relL2})`);
      assert.ok(h.relL2 < 2e-3 && h.argmax >= 0.97, `fp16 ${JSON.stringify(h)}`);
      assert.ok(q.relL2 < 0.05 && q.argmax >= 0.8, `int8 ${JSON.stringify(q)}`);
    } finally {
      await Promise.all(gens.map((g) => g.dispose()));
    }
  });
}

test("fp16 and int8 sampling give valid ids, reproducible per seed", async () => {
  for (const dtype of ["fp16", "int8"] as const) {
    const gen = await withDtype(cfg, dtype);
    try {
      assert.equal(gen.dtype, dtype);
      const a = await gen.sample({ labels: [0, 1, 2], seed: 9 });
      const b = await gen.sample({ labels: [0, 1, 2], seed: 9 });
      assert.deepEqual(a.ids.shape, [3, 4, 4]);
      assert.ok(a.ids.toNumbers().every((v) => Number.isInteger(v) && v >= 0 && v < 1024), dtype);
      assert.deepEqual(a.ids.toNumbers(), b.ids.toNumbers(), dtype);
      assert.ok(Array.from(a.bits.data as Float32Array).every((v) => v === 1 || v === -1));
      // Unguided sampling compiles its own step graph; it must honour the dtype too.
      const u = await gen.sample({ labels: [1], seed: 2, guidanceScale: 0 });
      assert.ok(u.ids.toNumbers().every((v) => v >= 0 && v < 1024));
    } finally {
      await gen.dispose();
    }
  }
});

test("an unknown dtype is refused with a ConfigError", async () => {
  await assert.rejects(
    Generator.load({ config: cfg, params: Generator.random(cfg, 1).params }, { dtype: "bf16" as InferenceDType }),
    (e: unknown) => e instanceof ConfigError && e.message.includes("fp32, fp16, int8"),
  );
});
