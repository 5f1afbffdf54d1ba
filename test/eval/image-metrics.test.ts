// PSNR / SSIM / MSE / MAE and codebook usage / entropy: batching, limits and input checks. The
// `metrics` golden case itself is judged by src/golden/metrics.ts (test/golden/golden.test.ts);
// its inputs are only used here as data.

import { test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { FeedError } from "../../src/engine/errors.js";
import { ImageMetrics, ReconstructionMeans, gaussianWindow } from "../../src/eval/image-metrics.js";
import { CodebookStats } from "../../src/eval/codebook.js";
import { goldenCase, tensor } from "./helpers.js";

const golden = goldenCase("metrics");

function images(t: HostTensor, from: number, to: number): HostTensor {
  const per = t.size / t.shape[0]!;
  return new HostTensor(t.dtype, [to - from, ...t.shape.slice(1)], t.data.slice(from * per, to * per));
}

test("ImageMetrics: per-image values do not depend on the batch; ReconstructionMeans streams their means", async () => {
  const m = new ImageMetrics(3, 64, 64);
  try {
    const real = tensor(golden, "real"), fake = tensor(golden, "fake");
    const whole = await m.perImage(real, fake);
    const means = new ReconstructionMeans();
    const parts = [await m.perImage(images(real, 0, 1), images(fake, 0, 1)), await m.perImage(images(real, 1, 3), images(fake, 1, 3))];
    for (const p of parts) means.add(p);
    assert.equal(means.count, 3);
    const r = means.result();
    for (const k of ["psnr", "ssim", "mse", "mae"] as const) {
      const streamed = parts.flatMap((p) => [...p[k]]);
      streamed.forEach((v, i) => assert.ok(Math.abs(v - whole[k][i]!) <= 1e-12 * Math.max(1, Math.abs(v)), `${k}[${i}] batched ${v} vs whole ${whole[k][i]}`));
      const mean = whole[k].reduce((s, v) => s + v, 0) / 3;
      assert.ok(Math.abs(r[k] - mean) <= 1e-12 * Math.max(1, Math.abs(mean)), `${k} mean ${r[k]} vs ${mean}`);
    }
    // Worse reconstructions score worse: the fixture's fakes are small noise, large noise, 4x4 block means.
    assert.ok(whole.psnr[0]! > whole.psnr[1]! && whole.ssim[0]! > whole.ssim[1]!);
    assert.throws(() => new ReconstructionMeans().result(), (e: unknown) => e instanceof FeedError && /at least one image/.test(e.message));
  } finally {
    await m.dispose();
  }
});

test("SSIM of an image with itself is 1, PSNR is 100 (the 1e-10 floor)", async () => {
  const m = new ImageMetrics(3, 64, 64);
  const real = tensor(golden, "real");
  const per = await m.perImage(real, real);
  for (const v of per.ssim) assert.ok(Math.abs(v - 1) < 1e-6, `ssim ${v}`);
  for (const v of per.psnr) assert.ok(Math.abs(v - 100) < 1e-9, `psnr ${v}`);
  await assert.rejects(m.perImage(real, HostTensor.zeros("float32", [3, 3, 32, 32])), (e: unknown) => e instanceof FeedError && /fake/.test(e.message));
  await m.dispose();
  const g = gaussianWindow();
  assert.ok(Math.abs(g.reduce((s, v) => s + v, 0) - 1) < 1e-6 && g[5]! > g[4]! && g[0] === g[10]);
});

test("CodebookStats: streamed counts equal one-shot counts; usage and entropy of known histograms; id range", async () => {
  const ids = tensor(golden, "ids");
  const [streamed, once] = [new CodebookStats(10), new CodebookStats(10)];
  try {
    await streamed.add(new HostTensor("int64", [1, 16], ids.data.slice(0, 16)));
    await streamed.add(new HostTensor("int64", [3, 16], ids.data.slice(16)));
    await once.add(ids);
    assert.equal(streamed.histogram.toNumbers().reduce((s, v) => s + v, 0), 64);
    assert.deepEqual(streamed.histogram.toNumbers(), once.histogram.toNumbers());
    assert.deepEqual(await streamed.result(), await once.result());
    await assert.rejects(streamed.add(HostTensor.i64([1024])), (e: unknown) => e instanceof FeedError && /\[0, 1024\)/.test(e.message));
  } finally {
    await streamed.dispose();
    await once.dispose();
  }
  // Every one of 2^K codes once: usage 1, entropy K bits (up to the 1e-8 inside the log).
  const uniform = new CodebookStats(4);
  try {
    await uniform.add(HostTensor.i64(Array.from({ length: 16 }, (_, i) => i)));
    const r = await uniform.result();
    assert.ok(Math.abs(r.usage - 1) < 1e-12 && Math.abs(r.entropy - 4) < 1e-6, `usage ${r.usage}, entropy ${r.entropy}`);
  } finally {
    await uniform.dispose();
  }
});
