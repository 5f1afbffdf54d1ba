import { test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { FeedError } from "../../../src/engine/errors.js";
import { clearBitPlane, flipBitPlane, setBitPlane } from "../../../src/models/tokenizer/bit-planes.js";

const ids = HostTensor.i64(Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 389 + 17) % 1024), [2, 3, 4]);
const region = { x: 1, y: 1, width: 2, height: 2 };
const inRegion = (i: number) => {
  const x = i % 4, y = Math.floor(i / 4) % 3;
  return x >= 1 && x < 3 && y >= 1 && y < 3;
};

test("flipBitPlane: flipping twice is the identity, and the input is not modified", () => {
  const before = ids.toNumbers();
  for (const plane of [0, 4, 9]) {
    assert.deepEqual(flipBitPlane(flipBitPlane(ids, plane), plane).toNumbers(), before);
    assert.deepEqual(flipBitPlane(flipBitPlane(ids, plane, { region }), plane, { region }).toNumbers(), before);
  }
  assert.deepEqual(ids.toNumbers(), before);
});

test("flipBitPlane: exactly bit `plane` changes, exactly inside the region (plane 0 = least significant bit)", () => {
  for (const plane of [0, 3, 9]) {
    const out = flipBitPlane(ids, plane, { region, tokenBits: 10 }).toNumbers(), src = ids.toNumbers();
    out.forEach((v, i) => assert.equal(v ^ src[i]!, inRegion(i) ? 1 << plane : 0, `plane ${plane}, id ${i}`));
  }
  const whole = flipBitPlane(ids, 0).toNumbers();
  whole.forEach((v, i) => assert.equal(v, ids.at(i) ^ 1));
});

test("setBitPlane / clearBitPlane force the bit inside the region only", () => {
  const set = setBitPlane(ids, 2, { region }).toNumbers(), clear = clearBitPlane(ids, 2, { region }).toNumbers();
  ids.toNumbers().forEach((v, i) => {
    assert.equal(set[i], inRegion(i) ? v | 4 : v);
    assert.equal(clear[i], inRegion(i) ? v & ~4 : v);
  });
});

test("bit-plane helpers: a plane beyond the token bits, a region off the grid, or non-grid ids are FeedErrors", () => {
  assert.throws(() => flipBitPlane(ids, 10, { tokenBits: 10 }), /bit plane in \[0, 10\)/);
  assert.throws(() => flipBitPlane(ids, -1), FeedError);
  assert.throws(() => flipBitPlane(ids, 0, { region: { x: 3, y: 0, width: 2, height: 1 } }), /inside the 4x3 token grid/);
  assert.throws(() => flipBitPlane(ids, 0, { region: { x: 0, y: 0, width: 0, height: 1 } }), FeedError);
  assert.throws(() => flipBitPlane(ids.reshape([2, 12]), 0), /ids int64\[B, h, w\]/);
});

test("flipBitPlane with a mask: any set of tokens, the same in every image; a mask equal to a region gives the region's result", () => {
  const scattered = [1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1]; // tokens 0, 3, 9, 11 of the 4x3 grid
  const out = flipBitPlane(ids, 5, { mask: scattered, tokenBits: 10 }).toNumbers(), src = ids.toNumbers();
  out.forEach((v, i) => assert.equal(v ^ src[i]!, scattered[i % 12] ? 32 : 0, `id ${i}`));
  const asMask = Array.from({ length: 12 }, (_, t) => inRegion(t));
  assert.deepEqual(setBitPlane(ids, 1, { mask: asMask }).toNumbers(), setBitPlane(ids, 1, { region }).toNumbers());
});

test("flipBitPlane with a mask: wrong length, nothing selected, or both a mask and a region are FeedErrors", () => {
  assert.throws(() => flipBitPlane(ids, 0, { mask: new Array(11).fill(true) }), /mask of 12 tokens/);
  assert.throws(() => flipBitPlane(ids, 0, { mask: new Array(12).fill(false) }), /at least one token/);
  assert.throws(() => flipBitPlane(ids, 0, { mask: new Array(12).fill(true), region }), /a region or a mask/);
});
