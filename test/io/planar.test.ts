// Planar image helpers: layout conversion, channel conversion, flips, crops and pads.

import { test } from "node:test";
import assert from "node:assert/strict";
import { centerCropOrPad, cropOrPad, flipHorizontal, fromInterleaved, planarImage, roundHalfEven, toChannels, toInterleaved } from "../../src/io/planar.js";
import { ConfigError } from "../../src/engine/errors.js";

test("fromInterleaved / toInterleaved round trip [2,3,3]", () => {
  const hwc = Uint8Array.from({ length: 18 }, (_, i) => i);
  const img = fromInterleaved(hwc, 3, 2, 3);
  assert.deepEqual(Array.from(img.data.subarray(0, 6)), [0, 3, 6, 9, 12, 15], "red plane");
  assert.deepEqual(Array.from(toInterleaved(img)), Array.from(hwc));
});

test("toChannels grey -> RGB repeats the plane", () => {
  const rgb = toChannels(planarImage(Uint8Array.from([1, 2]), 1, 1, 2), 3);
  assert.deepEqual(Array.from(rgb.data), [1, 2, 1, 2, 1, 2]);
});

test("flipHorizontal mirrors each row of each channel", () => {
  const img = planarImage(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 2, 2, 2);
  assert.deepEqual(Array.from(flipHorizontal(img).data), [2, 1, 4, 3, 6, 5, 8, 7]);
});

test("centerCropOrPad 28 -> 32 pads 2 each side; 5 -> 4 crops at round(0.5) = 0", () => {
  const img = planarImage(new Uint8Array(28 * 28).fill(255), 1, 28, 28);
  const padded = centerCropOrPad(img, 32, 32);
  assert.equal(padded.data[2 * 32 + 2], 255);
  assert.equal(padded.data[2 * 32 + 1], 0);
  assert.equal(padded.data[29 * 32 + 29], 255);
  assert.equal(padded.data[30 * 32 + 30], 0);
  const five = planarImage(Uint8Array.from({ length: 25 }, (_, i) => i), 1, 5, 5);
  assert.equal(centerCropOrPad(five, 4, 4).data[0], 0);
});

test("cropOrPad fills outside pixels", () => {
  const img = planarImage(Uint8Array.from([1, 2, 3, 4]), 1, 2, 2);
  assert.deepEqual(Array.from(cropOrPad(img, -1, 1, 3, 2, 9).data), [9, 9, 2, 9, 4, 9]);
});

test("roundHalfEven is Python's round", () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, -0, -2, 2, 3]);
});

test("planarImage checks the value count", () => {
  assert.throws(() => planarImage(new Uint8Array(5), 1, 2, 3), (e: unknown) => e instanceof ConfigError && e.got === "5");
});
