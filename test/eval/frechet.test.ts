// Streaming feature statistics and the Fréchet distance: shard merging, serialisation, the
// singular fallback, and a printed (not asserted) timing. The `frechet` golden case itself is judged
// by src/golden/frechet.ts (test/golden/golden.test.ts); its inputs are only used here as data.

import { test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { FeatureStats } from "../../src/eval/feature-stats.js";
import { frechetDistance, traceSqrtProduct } from "../../src/eval/frechet.js";
import { FeedError } from "../../src/engine/errors.js";
import { goldenCase, Rng, randomCovariance, tensor } from "./helpers.js";

const golden = goldenCase("frechet");

/** Rows [from, to) of a [N, d] feature tensor. */
function rows(t: HostTensor, from: number, to: number): HostTensor {
  const d = t.shape[1]!;
  return new HostTensor(t.dtype, [to - from, d], t.data.slice(from * d, to * d));
}

async function statsOf(features: HostTensor, batch: number): Promise<FeatureStats> {
  const s = FeatureStats.empty(features.shape[1]!);
  for (let i = 0; i < features.shape[0]!; i += batch) await s.add(rows(features, i, Math.min(i + batch, features.shape[0]!)));
  await s.dispose();
  return s;
}

test("frechetDistance: no eps offset on the frechet features, 0 against itself, symmetric", async () => {
  const a = await (await statsOf(tensor(golden, "features_A"), 128)).gaussian();
  const b = await (await statsOf(tensor(golden, "features_B"), 100)).gaussian();
  const ab = await frechetDistance(a, b), ba = await frechetDistance(b, a);
  assert.equal(ab.offsetApplied, false);
  assert.ok(Math.abs(ab.fid - ba.fid) <= 1e-9 * Math.abs(ab.fid), `d(A, B) ${ab.fid} vs d(B, A) ${ba.fid}`);
  assert.ok(Math.abs(ab.fid - (ab.meanTerm + ab.trace1 + ab.trace2 - 2 * ab.traceSqrtProduct)) < 1e-12);
  assert.ok(Math.abs((await frechetDistance(a, a)).fid) < 1e-9, "distance to itself is 0");
});

test("FeatureStats shard merge: stats(A ∪ B) == merge(stats A, stats B)", async () => {
  const feats = tensor(golden, "features_A");
  // One batch per shard: the merged sums are the streamed sums bit for bit.
  const whole = FeatureStats.empty(64);
  await whole.add(rows(feats, 0, 250));
  await whole.add(rows(feats, 250, 600));
  const [shardA, shardB] = [await statsOf(rows(feats, 0, 250), 250), await statsOf(rows(feats, 250, 600), 350)];
  shardA.merge(shardB);
  const [w, m] = [whole.toTensors(), shardA.toTensors()];
  assert.equal(shardA.count, 600);
  for (const k of ["sum", "sum_outer", "count"]) assert.deepEqual(m.get(k)!.data, w.get(k)!.data, `${k} bit-identical`);
  // Arbitrary shard/batch boundaries: equal up to float64 summation order.
  const shards = await Promise.all([[0, 97], [97, 410], [410, 600]].map(([s, e]) => statsOf(rows(feats, s!, e!), 64)));
  const merged = FeatureStats.empty(64);
  for (const s of shards) merged.merge(s);
  const [gw, gm] = [await whole.gaussian(), await merged.gaussian()];
  for (let i = 0; i < gw.sigma.size; i++) assert.ok(Math.abs(gw.sigma.data[i]! - gm.sigma.data[i]!) <= 1e-12 * (1 + Math.abs(gw.sigma.data[i]!)), `sigma[${i}]`);
  await whole.dispose();
});

test("FeatureStats serialises to tensors and back; rejects malformed inputs", async () => {
  const s = await statsOf(tensor(golden, "features_B"), 500);
  const back = FeatureStats.fromTensors(s.toTensors("gen."), "gen.");
  assert.equal(back.count, 500);
  const [x, y] = [await s.gaussian(), await back.gaussian()];
  assert.deepEqual(y.sigma.data, x.sigma.data);
  assert.throws(() => FeatureStats.fromTensors(new Map(), "ref."), (e: unknown) => e instanceof FeedError && /ref\.sum/.test(e.message));
  await assert.rejects(FeatureStats.empty(64).add(HostTensor.f32(new Float32Array(10), [2, 5])), (e: unknown) => e instanceof FeedError && /\[B, 64\]/.test(e.message));
  await assert.rejects(FeatureStats.empty(3).gaussian(), /at least 2 samples/);
});

test("traceSqrtProduct handles rank-deficient covariances; frechetDistance applies the eps offset then", async () => {
  const rng = new Rng(11), n = 24;
  // 10 samples in 24 dimensions: rank-deficient, as with a tiny evaluation set.
  const s1 = randomCovariance(rng, n, 10), s2 = randomCovariance(rng, n, 40);
  const exact = await traceSqrtProduct(s1, s2, n);
  assert.equal(exact.singular, true);
  assert.ok(exact.eigenvalues.length === 10 && exact.value > 0);
  const mu = HostTensor.f64(new Float64Array(n));
  const r = await frechetDistance({ mu, sigma: HostTensor.f64(s1, [n, n]) }, { mu, sigma: HostTensor.f64(s2, [n, n]) });
  assert.equal(r.offsetApplied, true);
  assert.ok(Math.abs(r.traceSqrtProduct - exact.value) < 1e-3 * exact.value, "the offset perturbs the trace only slightly");
});

// The full 2048-d (Inception pool feature) size takes ~20 s on CPU; by default a 512-d run keeps
// the suite fast. MASKBIT_LONG_TESTS=1 times the real size.
const TIMING_DIM = process.env.MASKBIT_LONG_TESTS === "1" ? 2048 : 512;

test(`Fréchet distance timing at ${TIMING_DIM} dimensions (printed, not asserted; 2048 with MASKBIT_LONG_TESTS=1)`, async () => {
  const n = TIMING_DIM, rng = new Rng(5);
  const make = (): Float64Array => {
    // A well-conditioned random SPD matrix without an O(n^3) JS product: diagonal plus low rank.
    const s = new Float64Array(n * n), k = 8;
    const u = Array.from({ length: k * n }, () => rng.normal());
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let v = i === j ? 1 + rng.uniform() : 0;
        for (let c = 0; c < k; c++) v += u[c * n + i]! * u[c * n + j]! / k;
        s[i * n + j] = s[j * n + i] = v;
      }
    }
    return s;
  };
  const a = { mu: HostTensor.f64(new Float64Array(n)), sigma: HostTensor.f64(make(), [n, n]) };
  const b = { mu: HostTensor.f64(new Float64Array(n).fill(0.1)), sigma: HostTensor.f64(make(), [n, n]) };
  const t0 = performance.now(), cpu0 = process.cpuUsage();
  const r = await frechetDistance(a, b);
  const ms = performance.now() - t0, cpu = process.cpuUsage(cpu0);
  // CPU time of this process's main thread and ORT's threads together; wall time includes any load on the machine.
  console.log(`# frechetDistance n=${n}: ${(ms / 1000).toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU (fid ${r.fid.toFixed(6)}, offset ${r.offsetApplied})`);
  assert.ok(Number.isFinite(r.fid));
});
