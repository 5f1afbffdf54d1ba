// Image files <-> tensors: PNG/JPEG decode, the official uint8 conversion, PNG round trips,
// grids (with row labels), eval preprocessing and the error for a non-image file.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { ConfigError } from "../../src/engine/errors.js";
import { DataError } from "../../src/io/data-error.js";
import { decodeImage, decodeImage8, encodePng, loadForEval, makeGrid, tensorToImage8, writeGrid, writePng } from "../../src/io/image.js";

const dir = mkdtempSync(join(tmpdir(), "maskbit-image-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** float [C, H, W] whose values are exact k/255 so a PNG round trip is lossless. */
function pattern(c: number, h: number, w: number): HostTensor<Float32Array> {
  return HostTensor.f32(Array.from({ length: c * h * w }, (_, i) => ((i * 29 + 7) % 256) / 255), [c, h, w]);
}

test("writePng / decodeImage round trip RGB [3,5,7] is exact", async () => {
  const t = pattern(3, 5, 7);
  const p = join(dir, "rgb.png");
  await writePng(p, t);
  const back = await decodeImage(p);
  assert.deepEqual(back.shape, [3, 5, 7]);
  assert.deepEqual(Array.from(back.data), Array.from(t.data));
});

test("grey [1,4,6] round trips as a 1-channel PNG; channels: 3 repeats it", async () => {
  const t = pattern(1, 4, 6);
  const png = await encodePng(t);
  assert.equal((await sharp(png).metadata()).channels, 1);
  const grey = await decodeImage(png);
  assert.deepEqual(grey.shape, [1, 4, 6]);
  assert.deepEqual(Array.from(grey.data), Array.from(t.data));
  const rgb = await decodeImage(png, { channels: 3 });
  assert.deepEqual(rgb.shape, [3, 4, 6]);
  assert.deepEqual(Array.from(rgb.data.subarray(24, 48)), Array.from(t.data));
});

test("RGBA PNG drops alpha; JPEG decodes to [3,H,W] near the source", async () => {
  const rgba = await sharp({ create: { width: 3, height: 2, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } } }).png().toBuffer();
  const a = await decodeImage8(rgba);
  assert.deepEqual([a.channels, a.height, a.width], [3, 2, 3]);
  assert.deepEqual([a.data[0], a.data[6], a.data[12]], [10, 20, 30]);
  const jpg = await sharp({ create: { width: 16, height: 8, channels: 3, background: { r: 200, g: 100, b: 50 } } }).jpeg({ quality: 95 }).toBuffer();
  const j = await decodeImage(jpg);
  assert.deepEqual(j.shape, [3, 8, 16]);
  assert.ok(Math.abs(j.data[0]! - 200 / 255) < 0.02 && Math.abs(j.data[128]! - 100 / 255) < 0.02);
});

test("tensorToImage8 clamps and truncates x*255 in float32 (official eval conversion)", () => {
  const t = HostTensor.f32([-0.5, 0, 0.5, 0.999, 1, 2, Number.NaN, 254.9 / 255, 1 / 255], [1, 3, 3]);
  assert.deepEqual(Array.from(tensorToImage8(t).data), [0, 0, 127, 254, 255, 255, 0, 254, 1]);
});

test("encodePng of [B,C,H,W] with B=5 is a grid of 5 cells (save_image layout)", async () => {
  const b = HostTensor.f32(new Float32Array(5 * 3 * 4 * 4).fill(1), [5, 3, 4, 4]);
  const meta = await sharp(await encodePng(b)).metadata();
  assert.deepEqual([meta.width, meta.height], [5 * 6 + 2, 6 + 2]);
});

test("makeGrid 2 rows x 3 cols with padding 1 places each image", async () => {
  const batch = HostTensor.f32(Array.from({ length: 6 * 1 * 2 * 2 }, (_, i) => Math.floor(i / 4) / 10), [6, 1, 2, 2]);
  const png = await makeGrid(batch, { cols: 3, padding: 1, padValue: 1 });
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [3 * 3 + 1, 2 * 3 + 1]);
  const at = (x: number, y: number) => data[(y * info.width + x) * info.channels]!;
  assert.equal(at(0, 0), 255, "padding");
  assert.equal(at(1, 1), 0, "image 0");
  assert.equal(at(4, 1), Math.trunc(Math.fround(0.1 * 255)), "image 1");
  assert.equal(at(7, 4), Math.trunc(Math.fround(0.5 * 255)), "image 5");
});

test("makeGrid with row labels draws text in a left column", async () => {
  const batch = HostTensor.f32(new Float32Array(4 * 3 * 24 * 24).fill(0.5), [4, 3, 24, 24]);
  const p = join(dir, "grid.png");
  await writeGrid(p, batch, { cols: 2, rowLabels: ["Ankle boot", "T-shirt/top & <x>"] });
  const { data, info } = await sharp(readFileSync(p)).raw().toBuffer({ resolveWithObject: true });
  const gridWidth = 2 * 26 + 2;
  const labelWidth = info.width - gridWidth;
  assert.ok(labelWidth > 40, `label column ${labelWidth}px`);
  assert.equal(info.height, 2 * 26 + 2);
  let ink = 0;
  for (let y = 0; y < info.height; y++) for (let x = 0; x < labelWidth; x++) if (data[(y * info.width + x) * info.channels]! > 128) ink++;
  assert.ok(ink > 30, `${ink} text pixels in the label column`);
  const cell = data[(4 * info.width + labelWidth + 4) * info.channels]!;
  assert.equal(cell, 127, "images untouched by the overlay");
});

test("makeGrid refuses a label count that does not match the rows", async () => {
  const batch = HostTensor.f32(new Float32Array(4 * 3 * 2 * 2), [4, 3, 2, 2]);
  await assert.rejects(makeGrid(batch, { cols: 2, rowLabels: ["one"] }), (e: unknown) => e instanceof ConfigError && /2 row labels/.test(e.expected));
});

test("encodePng refuses non-image tensors", async () => {
  await assert.rejects(encodePng(HostTensor.f32(new Float32Array(8), [2, 2, 2])), ConfigError);
  await assert.rejects(encodePng(HostTensor.i64([1, 2, 3], [1, 1, 3])), ConfigError);
});

test("loadForEval resizes the shorter side and centre-crops", async () => {
  const p = join(dir, "wide.png");
  await writePng(p, pattern(3, 30, 50));
  const t = await loadForEval(p, 16);
  assert.deepEqual(t.shape, [3, 16, 16]);
  assert.ok(t.data.every((v) => v >= 0 && v <= 1));
});

test("a non-image file is a DataError naming the file", async () => {
  const p = join(dir, "notes.png");
  writeFileSync(p, "this is not a picture");
  await assert.rejects(decodeImage(p), (e: unknown) => e instanceof DataError && e.file === p && /image file/.test(e.expected));
  await assert.rejects(decodeImage(join(dir, "missing.png")), (e: unknown) => e instanceof DataError && /missing\.png/.test(e.message));
});

test("writeGrid / writePng replace a file atomically: no temporary left, and a failed write keeps the old file", async () => {
  const sub = join(dir, "atomic");
  mkdirSync(sub);
  const p = join(sub, "grid.png");
  writeFileSync(p, "old");
  await writeGrid(p, HostTensor.f32(Array.from({ length: 2 * 4 * 4 }, (_, i) => (i % 5) / 4), [2, 1, 4, 4]));
  assert.deepEqual([...readFileSync(p).subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG replaced the old file");
  assert.deepEqual(readdirSync(sub), ["grid.png"], "no temporary file left beside it");
  // The target is a directory: the rename fails, nothing is left behind and the directory stays.
  const asDir = join(sub, "taken.png");
  mkdirSync(asDir);
  await assert.rejects(writePng(asDir, pattern(1, 3, 3)));
  assert.deepEqual(readdirSync(sub).sort(), ["grid.png", "taken.png"]);
});
