// BatchLoader: per-epoch shuffles from a seed, drop-last, fitting (resize / pad), augmentation,
// exact resume from a saved state, prefetching and speed on Fashion-MNIST.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { BatchLoader, type Batch, type LoaderState } from "../../src/data/loader.js";
import { DenseImageDataset } from "../../src/data/dataset.js";
import { TOKENIZER_AUGMENT } from "../../src/data/augment.js";
import { DEFAULT_FASHION_MNIST_DIR, loadFashionMnist } from "../../src/data/fashion-mnist.js";
import { ConfigError } from "../../src/engine/errors.js";

/** n grey 28x28 images; image i is filled with i (so pixels identify the sample). */
function toyDataset(n: number): DenseImageDataset {
  const images = new Uint8Array(n * 28 * 28);
  for (let i = 0; i < n; i++) images.fill(i % 256, i * 784, (i + 1) * 784);
  return new DenseImageDataset({ images, labels: Uint8Array.from({ length: n }, (_, i) => i % 10), count: n, height: 28, width: 28, channels: 1, classNames: ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"] });
}

const snapshot = (b: Batch) => ({ indices: b.indices, images: Array.from(b.images.data), labels: Array.from(b.labels.data), epoch: b.epoch, step: b.step });

test("one epoch visits every index once; epochs are reshuffled; same seed, same order", async () => {
  const ds = toyDataset(10);
  const a = new BatchLoader(ds, { batchSize: 5, seed: 42 });
  const e0 = [...(await a.next()).indices, ...(await a.next()).indices];
  const e1 = [...(await a.next()).indices, ...(await a.next()).indices];
  assert.deepEqual([...e0].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.notDeepEqual(e0, e1);
  const b = new BatchLoader(ds, { batchSize: 5, seed: 42 });
  assert.deepEqual((await b.next()).indices, e0.slice(0, 5));
  const c = new BatchLoader(ds, { batchSize: 5, seed: 43 });
  assert.notDeepEqual((await c.next()).indices, e0.slice(0, 5));
});

test("dropLast true skips the 10 % 4 = 2 leftover; false yields it", async () => {
  const ds = toyDataset(10);
  const drop = new BatchLoader(ds, { batchSize: 4, seed: 1, shuffle: false });
  assert.equal(drop.batchesPerEpoch, 2);
  const sizes = [];
  for (let k = 0; k < 3; k++) { const b = await drop.next(); sizes.push([b.epoch, b.step, b.indices.length]); }
  assert.deepEqual(sizes, [[0, 0, 4], [0, 1, 4], [1, 0, 4]]);
  const keep = new BatchLoader(ds, { batchSize: 4, seed: 1, shuffle: false, dropLast: false });
  assert.equal(keep.batchesPerEpoch, 3);
  const got = [];
  for (let k = 0; k < 4; k++) got.push((await keep.next()).indices);
  assert.deepEqual(got, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 1, 2, 3]]);
});

test("output: [B,1,32,32] float32 in [0,1] by resize; zero border by pad; int64 labels", async () => {
  const ds = toyDataset(4);
  const resized = await new BatchLoader(ds, { batchSize: 2, seed: 0, shuffle: false, size: 32 }).next();
  assert.deepEqual(resized.images.shape, [2, 1, 32, 32]);
  assert.equal(resized.images.dtype, "float32");
  assert.equal(resized.labels.dtype, "int64");
  assert.deepEqual(Array.from(resized.labels.data), [0n, 1n]);
  assert.equal(resized.images.data[1024], Math.fround(1 / 255), "constant image stays constant");
  const padded = await new BatchLoader(ds, { batchSize: 2, seed: 0, shuffle: false, size: 32, fit: "pad" }).next();
  assert.equal(padded.images.data[1024 + 0], 0, "pad border");
  assert.equal(padded.images.data[1024 + 2 * 32 + 2], Math.fround(1 / 255), "image inside");
  const rgb = await new BatchLoader(ds, { batchSize: 2, seed: 0, size: [16, 24], channels: 3 }).next();
  assert.deepEqual(rgb.images.shape, [2, 3, 16, 24]);
});

test("resume: k batches, save state, restore into a fresh loader = the uninterrupted run (with augmentation)", async () => {
  const ds = toyDataset(23);
  const opts = { batchSize: 4, seed: 7, size: 32, augment: TOKENIZER_AUGMENT, dropLast: false } as const;
  const full = new BatchLoader(ds, opts);
  const reference = [];
  for (let k = 0; k < 16; k++) reference.push(snapshot(await full.next())); // crosses 2 epoch boundaries
  for (const k of [0, 3, 5, 6, 11]) {
    const first = new BatchLoader(ds, opts);
    for (let j = 0; j < k; j++) await first.next();
    const saved = JSON.parse(JSON.stringify(first.state)) as LoaderState;
    const resumed = new BatchLoader(ds, opts, saved);
    for (let j = k; j < 16; j++) assert.deepEqual(snapshot(await resumed.next()), reference[j], `resume after ${k}, batch ${j}`);
  }
});

test("restore() on a running loader discards the prefetched batch", async () => {
  const ds = toyDataset(12);
  const opts = { batchSize: 3, seed: 5, augment: TOKENIZER_AUGMENT } as const;
  const loader = new BatchLoader(ds, opts);
  await loader.next();
  const saved = loader.state;
  const expected = snapshot(await loader.next());
  await loader.next();
  loader.restore(saved);
  assert.deepEqual(snapshot(await loader.next()), expected);
});

test("concurrent next() calls are served in order", async () => {
  const ds = toyDataset(12);
  const sequential = new BatchLoader(ds, { batchSize: 3, seed: 2 });
  const want = [];
  for (let k = 0; k < 5; k++) want.push((await sequential.next()).indices);
  const parallel = new BatchLoader(ds, { batchSize: 3, seed: 2 });
  const got = await Promise.all(Array.from({ length: 5 }, () => parallel.next()));
  assert.deepEqual(got.map((b) => b.indices), want);
});

test("state and options are checked", async () => {
  const ds = toyDataset(8);
  assert.throws(() => new BatchLoader(ds, { batchSize: 9, seed: 0 }), (e: unknown) => e instanceof ConfigError && /at least 9 images/.test(e.expected));
  assert.throws(() => new BatchLoader(ds, { batchSize: 0, seed: 0 }), ConfigError);
  const loader = new BatchLoader(ds, { batchSize: 2, seed: 0 });
  assert.throws(() => loader.restore({ ...loader.state, seed: 1 }), (e: unknown) => e instanceof ConfigError && /seed 0 over 8 images/.test(e.expected));
  assert.throws(() => loader.restore({ ...loader.state, index: 9 }), ConfigError);
  const pending = loader.next();
  assert.throws(() => loader.restore(loader.state), (e: unknown) => e instanceof ConfigError && /no next\(\) in flight/.test(e.expected));
  await pending;
});


test("Fashion-MNIST train, batch 64, 28 -> 32 with tokenizer augmentation: prefetched batches of the right shape", async (t) => {
  const ds = await loadFashionMnist({ split: "train" });
  const loader = new BatchLoader(ds, { batchSize: 64, seed: 0, size: 32, augment: TOKENIZER_AUGMENT });
  assert.equal(loader.batchesPerEpoch, Math.floor(ds.count / 64));
  await loader.next();
  // Simulated engine work: while the caller awaits, the prefetched batch gets built.
  const t0 = performance.now();
  let waited = 0;
  for (let k = 0; k < 20; k++) {
    await new Promise((r) => setTimeout(r, 5));
    const w0 = performance.now();
    const b = await loader.next();
    waited += performance.now() - w0;
    assert.deepEqual(b.images.shape, [64, 1, 32, 32]);
  }
  const perBatch = (performance.now() - t0) / 20 - 5;
  // Timing is reported, not asserted: speed belongs in the benchmarks (measured alone: about 3 ms
  // to build a batch, under 1 ms waited).
  t.diagnostic(`${perBatch.toFixed(2)} ms per batch beyond the simulated work; caller waited ${(waited / 20).toFixed(2)} ms per batch`);
});
