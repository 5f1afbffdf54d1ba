// DenseImageDataset, subset and class lookup by name or id.

import { test } from "node:test";
import assert from "node:assert/strict";
import { classIdOf, DenseImageDataset, subset } from "../../src/data/dataset.js";
import { DataError } from "../../src/io/data-error.js";
import { ConfigError } from "../../src/engine/errors.js";

const dense = new DenseImageDataset({
  images: Uint8Array.from({ length: 3 * 2 * 2 * 2 }, (_, i) => i), labels: Uint8Array.from([2, 0, 1]),
  count: 3, height: 2, width: 2, channels: 2, classNames: ["cat", "dog", "Big/Small"],
});

test("DenseImageDataset image(i) is a [C,H,W] view; label(i) reads the labels", () => {
  const img = dense.image(1);
  assert.deepEqual([img.channels, img.height, img.width], [2, 2, 2]);
  assert.deepEqual(Array.from(img.data), [8, 9, 10, 11, 12, 13, 14, 15]);
  assert.equal(dense.label(0), 2);
  assert.throws(() => dense.image(3), ConfigError);
  assert.throws(() => dense.label(-1), ConfigError);
});

test("DenseImageDataset checks pixel and label counts", () => {
  assert.throws(() => new DenseImageDataset({ images: new Uint8Array(7), labels: new Uint8Array(2), count: 2, height: 2, width: 2, channels: 1, classNames: [] }),
    (e: unknown) => e instanceof DataError && e.got === "7 pixels and 2 labels");
});

test("subset re-indexes", async () => {
  const s = subset(dense, [2, 0]);
  assert.equal(s.count, 2);
  assert.equal(s.label(0), 1);
  assert.equal((await s.image(1)).data[0], 0);
  assert.throws(() => subset(dense, [5]), ConfigError);
});

test("classIdOf: names ignore case and punctuation, slash parts, ids and numeric strings", () => {
  const names = dense.classNames;
  assert.equal(classIdOf(names, "DOG"), 1);
  assert.equal(classIdOf(names, "big/small"), 2);
  assert.equal(classIdOf(names, "small"), 2);
  assert.equal(classIdOf(names, 0), 0);
  assert.equal(classIdOf(names, " 2 "), 2);
  assert.throws(() => classIdOf(names, "bird"), (e: unknown) => e instanceof ConfigError && e.got === '"bird"' && /0: cat, 1: dog/.test(e.expected));
  assert.throws(() => classIdOf(names, 3), ConfigError);
  assert.throws(() => classIdOf(names, ""), ConfigError);
});
