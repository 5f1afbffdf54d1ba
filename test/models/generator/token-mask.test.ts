import { test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { FeedError } from "../../../src/engine/errors.js";
import { groupMask, pixelMaskToTokenMask, regionTokenMask, tokenGridOf } from "../../../src/models/generator/token-mask.js";

/** A float [1, H, W] pixel mask with 1 on the given (x, y) pixels. */
function pixels(h: number, w: number, on: Array<[number, number]>): HostTensor {
  const t = new Float32Array(h * w);
  for (const [x, y] of on) t[y * w + x] = 1;
  return new HostTensor("float32", [1, h, w], t);
}
/** The coordinates [x, y] of the set cells of a [1, h, w] mask. */
const cells = (m: HostTensor) => {
  const [, , w] = m.shape as number[];
  return m.toNumbers().flatMap((v, i) => (v ? [[i % w!, Math.floor(i / w!)]] : []));
};

test("pixel -> token mask: a token is masked when any of its pixels is; widen 0 gives exactly the covered tokens", () => {
  // Stride 4 on 32x32: pixel (9, 5) is in token (2, 1), pixel (12, 31) in token (3, 7).
  const m = pixelMaskToTokenMask(pixels(32, 32, [[9, 5], [12, 31]]), { stride: 4, widen: 0 });
  assert.deepEqual(m.shape, [1, 8, 8]);
  assert.deepEqual(cells(m), [[2, 1], [3, 7]]);
  // A whole 8x8 pixel block aligned to tokens covers 2x2 tokens, one pixel more covers a third column.
  const block: Array<[number, number]> = [];
  for (let y = 8; y < 16; y++) for (let x = 8; x < 16; x++) block.push([x, y]);
  assert.deepEqual(cells(pixelMaskToTokenMask(pixels(32, 32, block), { stride: 4, widen: 0 })), [[2, 2], [3, 2], [2, 3], [3, 3]]);
  assert.equal(cells(pixelMaskToTokenMask(pixels(32, 32, [...block, [16, 8]]), { stride: 4, widen: 0 })).length, 5);
});

test("pixel -> token mask: widening grows the mask by whole tokens in every direction, clipped at the border", () => {
  const centre = pixelMaskToTokenMask(pixels(32, 32, [[13, 13]]), { stride: 4 }); // default widen 1
  assert.deepEqual(cells(centre), [[2, 2], [3, 2], [4, 2], [2, 3], [3, 3], [4, 3], [2, 4], [3, 4], [4, 4]]);
  const corner = pixelMaskToTokenMask(pixels(32, 32, [[0, 0]]), { stride: 4, widen: 2 });
  assert.deepEqual(cells(corner).length, 9); // 3x3 (tokens 0..2 on each axis)
  assert.ok(cells(corner).every(([x, y]) => x! <= 2 && y! <= 2));
  const all = pixelMaskToTokenMask(pixels(32, 32, [[13, 13]]), { stride: 4, widen: 8 });
  assert.equal(cells(all).length, 64);
});

test("pixel -> token mask: sides that are not multiples of the stride round up; the last tokens cover the leftover pixels", () => {
  assert.deepEqual(tokenGridOf(30, 18, 4), [8, 5]);
  const m = pixelMaskToTokenMask(pixels(30, 18, [[17, 29]]), { stride: 4, widen: 0 });
  assert.deepEqual(m.shape, [1, 8, 5]);
  assert.deepEqual(cells(m), [[4, 7]]);
  const first = pixelMaskToTokenMask(pixels(30, 18, [[3, 3]]), { stride: 4, widen: 0 });
  assert.deepEqual(cells(first), [[0, 0]]);
});

test("pixel -> token mask: grey values count from the threshold; uint8 and [1, 1, H, W] masks work", () => {
  const t = new Float32Array(64);
  t[0] = 0.49; t[63] = 0.5;
  assert.deepEqual(cells(pixelMaskToTokenMask(new HostTensor("float32", [1, 1, 8, 8], t), { stride: 4, widen: 0 })), [[1, 1]]);
  const u = new Uint8Array(64); u[0] = 255;
  assert.deepEqual(cells(pixelMaskToTokenMask(new HostTensor("uint8", [8, 8], u), { stride: 4, widen: 0 })), [[0, 0]]);
});

test("pixel -> token mask: wrong size, nothing masked, not an image, bad options are FeedErrors that say so", () => {
  const err = (re: RegExp) => (e: unknown) => e instanceof FeedError && re.test(e.message);
  assert.throws(() => pixelMaskToTokenMask(pixels(32, 30, [[1, 1]]), { stride: 4, imageSize: [32, 32] }), err(/32x32 mask \(the image's size\), got 30x32/));
  assert.throws(() => pixelMaskToTokenMask(pixels(32, 32, []), { stride: 4 }), err(/at least one masked pixel/));
  assert.throws(() => pixelMaskToTokenMask(HostTensor.zeros("float32", [3, 32, 32]), { stride: 4 }), err(/one-channel pixel mask/));
  assert.throws(() => pixelMaskToTokenMask(HostTensor.zeros("float32", [32]), { stride: 4 }), err(/one-channel pixel mask/));
  assert.throws(() => pixelMaskToTokenMask(HostTensor.zeros("int64", [8, 8]), { stride: 4 }), err(/one-channel pixel mask/));
  assert.throws(() => pixelMaskToTokenMask(pixels(8, 8, [[1, 1]]), { stride: 4, widen: -1 }), err(/widen >= 0/));
  assert.throws(() => pixelMaskToTokenMask(pixels(8, 8, [[1, 1]]), { stride: 0 }), err(/stride >= 1/));
});

test("region and group masks", () => {
  const r = regionTokenMask(4, 6, { x: 4, y: 1, width: 2, height: 3 });
  assert.deepEqual(cells(r), [[4, 1], [5, 1], [4, 2], [5, 2], [4, 3], [5, 3]]);
  assert.throws(() => regionTokenMask(4, 6, { x: 5, y: 0, width: 2, height: 1 }), FeedError);
  const g = groupMask(r, [1], 2);
  assert.deepEqual(g.shape, [1, 4, 6, 2]);
  const v = g.toNumbers();
  for (let t = 0; t < 24; t++) {
    assert.equal(v[2 * t], 0);
    assert.equal(v[2 * t + 1], r.data[t]);
  }
  assert.throws(() => groupMask(r, [2], 2), FeedError);
  assert.throws(() => groupMask(r, [], 2), FeedError);
});

test("pixel -> token mask: the rounded-up grid is the tokenizer's own grid for sides that are not multiples of the stride", async () => {
  const { Tokenizer } = await import("../../../src/models/tokenizer/tokenizer.js");
  const { tokenizer10bit } = await import("../../../src/models/tokenizer/config.js");
  const tok = Tokenizer.random({ ...tokenizer10bit, numChannels: 1, hiddenChannels: 32, channelMult: [1, 2, 2], numResolutions: 3 }, 1);
  try {
    for (const [h, w] of [[30, 18], [32, 32], [13, 20]] as const) {
      const { ids } = await tok.encode(HostTensor.zeros("float32", [1, 1, h, w]));
      assert.deepEqual(ids.shape.slice(1), tokenGridOf(h, w, tok.stride), `${w}x${h}`);
      assert.deepEqual(pixelMaskToTokenMask(pixels(h, w, [[w - 1, h - 1]]), { stride: tok.stride, widen: 0 }).shape.slice(1), ids.shape.slice(1));
    }
  } finally {
    await tok.dispose();
  }
});
