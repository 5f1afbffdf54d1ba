import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { runCli } from "../../src/cli/main.js";

// The shipped Fashion-MNIST tokenizer (grayscale, 32x32 -> 8x8 tokens) is the default.
const dir = mkdtempSync(join(tmpdir(), "maskbit-tokenize-"));
const png = join(dir, "shirt.png"), jpg = join(dir, "wide.jpg");
await sharp({ create: { width: 60, height: 40, channels: 3, background: { r: 200, g: 200, b: 200 } } }).png().toFile(png);
await sharp({ create: { width: 90, height: 30, channels: 3, background: { r: 20, g: 90, b: 60 } } }).jpeg().toFile(jpg);

test("tokenize any-size PNG/JPEG with the shipped tokenizer: JSON ids on the 8x8 grid, and .npy int64", async () => {
  const json = join(dir, "ids.json"), npy = join(dir, "ids.npy");
  assert.equal(await runCli(["tokenize", png, jpg, "--out", json, "--threads", "1"]), 0);
  const doc = JSON.parse(readFileSync(json, "utf8")) as { tokenBits: number; images: { grid: number[]; ids: number[][] }[] };
  assert.equal(doc.tokenBits, 10);
  assert.equal(doc.images.length, 2);
  for (const img of doc.images) {
    assert.deepEqual(img.grid, [8, 8]);
    assert.ok(img.ids.flat().every((id) => Number.isInteger(id) && id >= 0 && id < 1024));
  }
  assert.equal(await runCli(["tokenize", png, jpg, "--out", npy, "--threads", "1"]), 0);
  const bytes = readFileSync(npy);
  assert.equal(bytes.subarray(1, 6).toString(), "NUMPY");
  assert.match(bytes.subarray(10, 128).toString(), /'descr': '<i8'.*'shape': \(2, 8, 8\)/);
  const ids = new BigInt64Array(bytes.buffer.slice(bytes.byteOffset + bytes.length - 2 * 64 * 8, bytes.byteOffset + bytes.length));
  assert.deepEqual(Array.from(ids.slice(0, 64), Number), doc.images[0]!.ids.flat());
});

test("reconstruct writes an input/reconstruction grid; a non-image file is a clear error", async () => {
  const out = join(dir, "recon.png");
  assert.equal(await runCli(["reconstruct", png, jpg, "--out", out, "--threads", "1"]), 0);
  const meta = await sharp(out).metadata();
  assert.ok(meta.width! >= 2 * 32 && meta.height! >= 2 * 32, `${meta.width}x${meta.height}`);
  const text = join(dir, "notes.txt");
  writeFileSync(text, "not an image");
  assert.equal(await runCli(["tokenize", text, "--out", join(dir, "x.json")]), 3);
  assert.equal(await runCli(["reconstruct"]), 2);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
