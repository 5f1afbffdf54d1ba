// Resampling against values Pillow produced (test/data/pil-resample.json), plus the size rules of
// torchvision's Resize / CenterCrop used for evaluation.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resize, resizeCoverCenterCrop, resizeShorterCenterCrop, shorterSideSize, type ResampleFilter } from "../../src/io/resample.js";
import { fromInterleaved, planarImage, toChannels, toInterleaved } from "../../src/io/planar.js";
import { ConfigError } from "../../src/engine/errors.js";

interface PilCase { image: "rgb" | "gray"; filter: ResampleFilter; box?: [number, number, number, number]; size: [number, number]; out: number[] }
const fx = JSON.parse(readFileSync(new URL("./pil-resample.json", import.meta.url), "utf8")) as {
  rgb: { width: number; height: number }; gray: { width: number; height: number };
  cases: Record<string, PilCase>; eval_gray_4: number[]; luma: number[];
};
const source = (kind: "rgb" | "gray") => {
  const { width, height } = fx[kind], c = kind === "rgb" ? 3 : 1;
  return fromInterleaved(Uint8Array.from({ length: width * height * c }, (_, i) => (i * 37 + 11) % 256), c, height, width);
};

for (const [name, c] of Object.entries(fx.cases)) {
  test(`resize matches Pillow bit for bit: ${name} (${c.filter} -> [${c.size.join(",")}]${c.box ? ` box ${c.box.join(",")}` : ""})`, () => {
    const box = c.box && { left: c.box[0], top: c.box[1], width: c.box[2] - c.box[0], height: c.box[3] - c.box[1] };
    const out = resize(source(c.image), c.size[0], c.size[1], c.filter, box);
    assert.deepEqual(Array.from(toInterleaved(out)), c.out);
  });
}

test("resizeShorterCenterCrop 10x7 grey -> 4 matches Pillow Resize(4) + CenterCrop(4)", () => {
  const out = resizeShorterCenterCrop(source("gray"), 4);
  assert.deepEqual([out.channels, out.height, out.width], [1, 4, 4]);
  assert.deepEqual(Array.from(out.data), fx.eval_gray_4);
});

test("toChannels RGB -> grey matches Pillow convert('L')", () => {
  assert.deepEqual(Array.from(toChannels(source("rgb"), 1).data), fx.luma);
});

test("shorterSideSize truncates the long side like torchvision Resize(int)", () => {
  assert.deepEqual(shorterSideSize(375, 500, 256), [256, 341]);
  assert.deepEqual(shorterSideSize(500, 333, 256), [384, 256]);
  assert.deepEqual(shorterSideSize(28, 28, 32), [32, 32]);
});

test("resizeShorterCenterCrop 300x400 -> 256x256 (crop offset rounds half to even)", () => {
  const img = planarImage(Uint8Array.from({ length: 300 * 400 }, (_, i) => i % 256), 1, 300, 400);
  const out = resizeShorterCenterCrop(img, 256);
  assert.deepEqual([out.height, out.width], [256, 256]);
});

test("resizeCoverCenterCrop to a non-square target covers it", () => {
  const img = planarImage(new Float32Array(3 * 10 * 20).fill(0.5), 3, 10, 20);
  const out = resizeCoverCenterCrop(img, 16, 8);
  assert.deepEqual([out.channels, out.height, out.width], [3, 16, 8]);
  assert.ok(out.data.every((v) => Math.abs(v - 0.5) < 1e-6), "float images stay unquantised");
});

test("resize to the same size returns a copy, not the input", () => {
  const img = planarImage(Uint8Array.from([1, 2, 3, 4]), 1, 2, 2);
  const out = resize(img, 2, 2, "bilinear");
  assert.notEqual(out.data, img.data);
  assert.deepEqual(Array.from(out.data), [1, 2, 3, 4]);
});

test("resize refuses boxes outside the image and empty sizes", () => {
  const img = planarImage(new Uint8Array(16), 1, 4, 4);
  assert.throws(() => resize(img, 2, 2, "bilinear", { left: 1, top: 0, width: 4, height: 4 }), ConfigError);
  assert.throws(() => resize(img, 0, 2, "bilinear"), ConfigError);
});
