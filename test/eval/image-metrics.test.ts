// PSNR / SSIM / MSE / MAE and codebook usage / entropy against the `metrics` golden case
// (official TokenizerEvaluator), plus batching and input checks.

import { test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { FeedError } from "../../src/engine/errors.js";
import { ImageMetrics, ReconstructionMeans, gaussianWindow } from "../../src/eval/image-metrics.js";
import { CodebookStats } from "../../src/eval/codebook.js";
import { assertGolden, goldenCase, scalar64, tensor } from "./helpers.js";

const golden = goldenCase("metrics");

function images(t: HostTensor, from: number, to: number): HostTensor {
  const per = t.size / t.shape[0]!;
  return new HostTensor(t.dtype, [to - from, ...t.shape.slice(1)], t.data.slice(from * per, to * per));
}

test("metrics golden: psnr, ssim, mse, mae (per image and means)", async () => {
  const m = new ImageMetrics(3, 64, 64);
  try {
    const real = tensor(golden, "real"), fake = tensor(golden, "fake");
    const per = await m.perImage(real, fake);
    assertGolden(golden, "psnr_per_image", HostTensor.f64(per.psnr));
    assertGolden(golden, "ssim_per_image", HostTensor.f64(per.ssim));
    // Streaming in uneven batches gives the same means.
    const means = new ReconstructionMeans();
    means.add(await m.perImage(images(real, 0, 1), images(fake, 0, 1)));
    means.add(await m.perImage(images(real, 1, 3), images(fake, 1, 3)));
    assert.equal(means.count, 3);
    const r = means.result();
    for (const k of ["psnr", "ssim", "mse", "mae"] as const) assertGolden(golden, k, scalar64(r[k]));
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

test("metrics golden: codebook usage and entropy (1024 codes), streamed", async () => {
  const cb = new CodebookStats(10);
  try {
    const ids = tensor(golden, "ids");
    await cb.add(new HostTensor("int64", [1, 16], ids.data.slice(0, 16)));
    await cb.add(new HostTensor("int64", [3, 16], ids.data.slice(16)));
    const r = await cb.result();
    assertGolden(golden, "codebook_usage", scalar64(r.usage));
    assertGolden(golden, "codebook_entropy", scalar64(r.entropy));
    assert.equal(cb.histogram.toNumbers().reduce((s, v) => s + v, 0), 64);
    await assert.rejects(cb.add(HostTensor.i64([1024])), (e: unknown) => e instanceof FeedError && /\[0, 1024\)/.test(e.message));
  } finally {
    await cb.dispose();
  }
});
