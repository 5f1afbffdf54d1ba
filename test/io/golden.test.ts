import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compareTensors, formulaWeights, loadGoldenCase, toleranceFor, type JsonObject } from "../../src/io/golden.js";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { CheckpointError } from "../../src/engine/errors.js";

const GOLDEN = join(import.meta.dirname, "../../../shared/golden");
const CASES = readdirSync(GOLDEN).filter((d) => statSync(join(GOLDEN, d)).isDirectory()).sort();

test("every golden case loads and matches its own declarations", () => {
  assert.ok(CASES.length >= 11, `found ${CASES.join(", ")}`);
  for (const dir of CASES) {
    const c = loadGoldenCase(join(GOLDEN, dir));
    assert.equal(c.name, dir);
    for (const n of [...c.inputs, ...c.outputs]) assert.ok(c.tensors.has(n), `${dir}: ${n}`);
    if (c.weights) {
      assert.deepEqual([...c.weights.keys()], c.weightKeys.map(([k]) => k), `${dir}: weights in official order`);
      for (const [key, dtype, shape] of c.weightKeys) {
        assert.equal(c.weights.get(key)!.dtype, dtype);
        assert.deepEqual(c.weights.get(key)!.shape, shape);
      }
    }
  }
  const gen = loadGoldenCase(join(GOLDEN, "generator_k10"));
  assert.deepEqual(gen.weightKeys[1], ["bits_to_indices", "int32", [5]]);
  assert.equal(gen.tensors.get("tokens")!.dtype, "int64");
});

test("missing case.json or data files name the path", () => {
  const dir = mkdtempSync(join(tmpdir(), "maskbit-golden-"));
  try {
    assert.throws(() => loadGoldenCase(dir), (e: unknown) => e instanceof CheckpointError && e.scope === join(dir, "case.json"));
    copyFileSync(join(GOLDEN, "lfq_k10/case.json"), join(dir, "case.json"));
    assert.throws(() => loadGoldenCase(dir), (e: unknown) => e instanceof CheckpointError && e.scope === join(dir, "tensors.safetensors"));
    copyFileSync(join(GOLDEN, "lfq_k12/tensors.safetensors"), join(dir, "tensors.safetensors"));
    assert.throws(() => loadGoldenCase(dir), (e: unknown) => e instanceof CheckpointError && /z: float32 \[2, 10, 4, 4\] declared, file has float32 \[2, 12, 4, 4\]/.test(e.got));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("formula weights reproduce formula_check for ResNet-50 and Inception", () => {
  for (const dir of ["perceptual_resnet50", "inception_fid"]) {
    const raw = JSON.parse(readFileSync(join(GOLDEN, dir, "case.json"), "utf8")) as JsonObject;
    const weights = formulaWeights(raw);
    const listed = raw.formula_weights as { key: string; shape: number[] }[];
    assert.deepEqual([...weights.keys()], listed.map((e) => e.key), `${dir}: listed order`);
    for (const { key, shape } of listed) assert.deepEqual(weights.get(key)!.shape, shape, key);
    for (const check of raw.formula_check as { key: string; first_values_float32: number[] }[]) {
      const got = weights.get(check.key)!.data as Float32Array;
      assert.deepEqual(Array.from(got.subarray(0, check.first_values_float32.length)), check.first_values_float32, `${dir}: ${check.key}`);
    }
    const tracked = [...weights].find(([k]) => k.endsWith("num_batches_tracked"))![1];
    assert.equal(tracked.dtype, "int64");
    assert.deepEqual(tracked.shape, []);
    assert.equal(tracked.at(0), 0);
  }
  assert.equal(formulaWeights(JSON.parse(readFileSync(join(GOLDEN, "inception_fid/case.json"), "utf8")) as JsonObject).size, 566);
});

test("compareTensors: equal, within, outside tolerance, and the error measures", () => {
  const exp = HostTensor.f32([1, -2, 0, 4]);
  const same = compareTensors(exp, exp, { atol: 0, rtol: 0 });
  assert.deepEqual(same, { ok: true, maxAbsErr: 0, maxRelErr: 0, worstRatio: 0, worstIndex: 0, relL2: 0, mismatches: 0 });
  const near = compareTensors(HostTensor.f32([1.0005, -2, 0.0005, 4]), exp, { atol: 1e-3, rtol: 1e-3 });
  assert.ok(near.ok);
  assert.ok(Math.abs(near.worstRatio - 0.0005 / 1e-3) < 1e-6, `${near.worstRatio}`);
  assert.equal(near.worstIndex, 2);
  const far = compareTensors(HostTensor.f64([1, -2, 0, 4.5]), exp, { atol: 1e-3, rtol: 1e-3 });
  assert.equal(far.ok, false);
  assert.equal(far.mismatches, 1);
  assert.equal(far.worstIndex, 3);
  assert.equal(far.maxAbsErr, 0.5);
  assert.equal(far.maxRelErr, 0.125);
  assert.ok(Math.abs(far.relL2 - 0.5 / Math.sqrt(21)) < 1e-12);
  assert.ok(Math.abs(far.worstRatio - 0.5 / (1e-3 + 4e-3)) < 1e-9);
  // A relative-L2 fallback accepts it when the tolerance allows one.
  assert.ok(compareTensors(HostTensor.f32([1, -2, 0, 4.001]), exp, { atol: 0, rtol: 1e-6, maxRelL2: 1e-3 }).ok);
  assert.equal(compareTensors(exp, HostTensor.f32([1, -2, 0, 4]), { atol: 0, rtol: 0, exact: true }).ok, true);
  assert.equal(compareTensors(HostTensor.f32([1, -2, 0, 4.0000005]), exp, { atol: 1, rtol: 1, exact: true }).ok, false);
});

test("compareTensors: shape and dtype-kind mismatches, exact ints, NaN", () => {
  const shape = compareTensors(HostTensor.f32([1, 2, 3, 4], [2, 2]), HostTensor.f32([1, 2, 3, 4], [4]), { atol: 1, rtol: 1 });
  assert.equal(shape.ok, false);
  assert.equal(shape.reason, "shape [2, 2] vs expected [4]");
  assert.equal(compareTensors(HostTensor.f32([1]), HostTensor.i64([1]), { atol: 1, rtol: 1 }).reason, "dtype float32 vs expected int64");
  const big = HostTensor.i64([2n ** 60n, 3n]);
  assert.equal(compareTensors(HostTensor.i64([2n ** 60n + 1n, 3n]), big, { atol: 10, rtol: 10 }).ok, false, "ints are exact whatever atol says");
  assert.equal(compareTensors(HostTensor.i64([2n ** 60n, 3n]), big, { atol: 0, rtol: 0 }).ok, true);
  assert.equal(compareTensors(new HostTensor("int32", [2], Int32Array.from([7, 3])), HostTensor.i64([7, 3]), { atol: 0, rtol: 0 }).ok, true);
  assert.equal(compareTensors(HostTensor.f32([NaN, 1]), HostTensor.f32([NaN, 1]), { atol: 0, rtol: 0 }).ok, true);
  const nan = compareTensors(HostTensor.f32([NaN, 1]), HostTensor.f32([0, 1]), { atol: 1, rtol: 1 });
  assert.equal(nan.ok, false);
  assert.equal(nan.worstRatio, Infinity);
});

test("toleranceFor reads per-tensor, per-group and grads overrides from case.json", () => {
  const tol = (dir: string) => loadGoldenCase(join(GOLDEN, dir)).tolerance;
  const lfq = tol("lfq_k10");
  assert.deepEqual(toleranceFor(lfq, "z_quantized"), { atol: 1e-5, rtol: 1e-4 });
  assert.deepEqual(toleranceFor(lfq, "q_hard_small"), { atol: 1e-5, rtol: 1e-4, exact: true });
  assert.deepEqual(toleranceFor(tol("tokenizer_k10"), "grad.encoder.conv_in.weight"), { atol: 1e-5, rtol: 2e-3, maxRelL2: 1e-3 });
  assert.deepEqual(toleranceFor(tol("generator_k10"), "grad.pos_emb"), { atol: 1e-5, rtol: 2e-3 });
  assert.deepEqual(toleranceFor(tol("perceptual_resnet50"), "loss"), { atol: 1e-4, rtol: 2e-3 });
  assert.deepEqual(toleranceFor(tol("sampler_k10"), "final_image"), { atol: 2e-4, rtol: 1e-3 });
  assert.deepEqual(toleranceFor(tol("sampler_k10"), "probs"), { atol: 1e-4, rtol: 1e-3 });
});
