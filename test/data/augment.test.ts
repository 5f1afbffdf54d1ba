// RandomResizedCrop + flip: determinism for a seed, output shapes, window ranges, fallback.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.js";
import { augmentImage, GENERATOR_AUGMENT, NO_AUGMENT, randomResizedCropWindow, TOKENIZER_AUGMENT } from "../../src/data/augment.js";
import { planarImage } from "../../src/io/planar.js";
import { ConfigError } from "../../src/engine/errors.js";

const digit = planarImage(Uint8Array.from({ length: 28 * 28 }, (_, i) => (i * 13) % 256), 1, 28, 28);

test("augmentImage tokenizer preset 28x28 -> 32x32: same seed, same pixels", () => {
  const run = (seed: number) => {
    const rng = new Rng(seed);
    return Array.from({ length: 8 }, () => Array.from(augmentImage(digit, 32, 32, TOKENIZER_AUGMENT, rng).data));
  };
  const a = run(7), b = run(7), c = run(8);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.equal(a[0]!.length, 32 * 32);
});

test("augmentImage generator preset RGB 40x30 -> [3,16,16], square windows", () => {
  const rgb = planarImage(Uint8Array.from({ length: 3 * 40 * 30 }, (_, i) => i % 256), 3, 40, 30);
  const rng = new Rng(3);
  for (let k = 0; k < 20; k++) {
    const out = augmentImage(rgb, 16, 16, GENERATOR_AUGMENT, rng);
    assert.deepEqual([out.channels, out.height, out.width], [3, 16, 16]);
  }
  const w = new Rng(4);
  for (let k = 0; k < 200; k++) {
    const win = randomResizedCropWindow(40, 30, GENERATOR_AUGMENT.crop!, w);
    assert.equal(win.height, win.width, "ratio fixed at 1");
  }
});

test("randomResizedCropWindow stays inside the image, area in [0.8, 1] (up to rounding), ratio in [3/4, 4/3]", () => {
  const rng = new Rng(11);
  for (let k = 0; k < 2000; k++) {
    const w = randomResizedCropWindow(256, 320, TOKENIZER_AUGMENT.crop!, rng);
    assert.ok(w.top >= 0 && w.left >= 0 && w.top + w.height <= 256 && w.left + w.width <= 320, JSON.stringify(w));
    const area = (w.height * w.width) / (256 * 320);
    assert.ok(area > 0.79 && area <= 1.01, `area ${area}`);
    const ratio = w.width / w.height;
    assert.ok(ratio > 0.74 && ratio < 1.35, `ratio ${ratio}`);
  }
});

test("randomResizedCropWindow falls back to the clamped centre window when no try fits", () => {
  // A 4x100 strip cannot hold a window of ratio <= 4/3 with 80% of its area.
  const w = randomResizedCropWindow(4, 100, TOKENIZER_AUGMENT.crop!, new Rng(1));
  assert.deepEqual(w, { top: 0, left: 47, height: 4, width: 5 });
});

test("flip only: p=1 always mirrors, p=0 never draws", () => {
  const img = planarImage(Uint8Array.from([1, 2, 3]), 1, 1, 3);
  const rng = new Rng(5);
  assert.deepEqual(Array.from(augmentImage(img, 1, 3, { crop: null, flipProbability: 1 }, rng).data), [3, 2, 1]);
  const before = rng.state;
  assert.deepEqual(Array.from(augmentImage(img, 1, 3, NO_AUGMENT, rng).data), [1, 2, 3]);
  assert.deepEqual(rng.state, before);
});

test("flip frequency is about one half", () => {
  const img = planarImage(Uint8Array.from([0, 255]), 1, 1, 2);
  const rng = new Rng(9);
  let flips = 0;
  for (let k = 0; k < 4000; k++) if (augmentImage(img, 1, 2, { crop: null, flipProbability: 0.5 }, rng).data[0] === 255) flips++;
  assert.ok(flips > 1800 && flips < 2200, `${flips} / 4000`);
});

test("bad ranges and size mismatches are ConfigErrors", () => {
  assert.throws(() => randomResizedCropWindow(8, 8, { scale: [1, 0.5], ratio: [1, 1], filter: "bilinear" }, new Rng(0)), ConfigError);
  assert.throws(() => augmentImage(digit, 32, 32, NO_AUGMENT, new Rng(0)), ConfigError);
});

test("a batch of 64 Fashion-MNIST-sized crops 28 -> 32: each 32x32, the same draws for the same seed", () => {
  const run = (seed: number) => Array.from({ length: 64 }, ((rng) => () => augmentImage(digit, 32, 32, TOKENIZER_AUGMENT, rng))(new Rng(seed)));
  const a = run(2), b = run(2);
  for (const [i, img] of a.entries()) {
    assert.deepEqual([img.height, img.width], [32, 32]);
    assert.deepEqual(img.data, b[i]!.data);
  }
});
