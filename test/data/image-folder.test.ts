// Image folders: class subfolders (sorted names -> ids), nested files, flat unlabelled folders,
// grey/RGB conversion and the errors for empty or missing folders.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { openImageFolder } from "../../src/data/image-folder.js";
import { DataError } from "../../src/io/data-error.js";
import { BatchLoader } from "../../src/data/loader.js";

const root = mkdtempSync(join(tmpdir(), "maskbit-folder-"));
test.after(() => rmSync(root, { recursive: true, force: true }));

async function solid(path: string, value: number, width = 6, height = 4, jpeg = false): Promise<void> {
  const img = sharp({ create: { width, height, channels: 3, background: { r: value, g: value, b: value } } });
  writeFileSync(path, await (jpeg ? img.jpeg({ quality: 100 }) : img.png()).toBuffer());
}

test("class subfolders: sorted names are ids, files sorted, nested files and JPEGs included", async () => {
  const d = join(root, "classes");
  for (const c of ["zebra", "Apple", "mango"]) mkdirSync(join(d, c, "sub"), { recursive: true });
  await solid(join(d, "zebra", "b.png"), 10);
  await solid(join(d, "zebra", "a.png"), 20);
  await solid(join(d, "Apple", "x.jpg"), 30, 6, 4, true);
  await solid(join(d, "mango", "sub", "deep.png"), 40);
  writeFileSync(join(d, "mango", "readme.txt"), "not an image");
  writeFileSync(join(d, "stray.png"), "ignored: files beside class folders");
  const ds = await openImageFolder(d, { channels: 1 });
  assert.deepEqual(ds.classNames, ["Apple", "mango", "zebra"], "code-point order: capitals first");
  assert.equal(ds.count, 4);
  assert.deepEqual(Array.from(ds.labels), [0, 1, 2, 2]);
  assert.deepEqual(ds.files.map((f) => f.slice(d.length + 1)), ["Apple/x.jpg", "mango/sub/deep.png", "zebra/a.png", "zebra/b.png"]);
  const img = await ds.image(2);
  assert.deepEqual([img.channels, img.height, img.width], [1, 4, 6]);
  assert.equal(img.data[0], 20);
  assert.ok(Math.abs((await ds.image(0)).data[0]! - 30) <= 2, "JPEG decoded");
});

test("a flat folder is unlabelled (label -1, no classes) and feeds a loader at a given size", async () => {
  const d = join(root, "flat");
  mkdirSync(d);
  for (let i = 0; i < 5; i++) await solid(join(d, `img${i}.png`), i * 50, 8 + i, 6);
  const ds = await openImageFolder(d, { cache: true });
  assert.equal(ds.count, 5);
  assert.deepEqual(ds.classNames, []);
  assert.equal(ds.label(3), -1);
  assert.equal(ds.channels, 3);
  assert.equal(await ds.image(1), await ds.image(1), "cached decode");
  const loader = new BatchLoader(ds, { batchSize: 2, seed: 0, size: 4, shuffle: false });
  const b = await loader.next();
  assert.deepEqual(b.images.shape, [2, 3, 4, 4]);
  assert.deepEqual(Array.from(b.labels.data), [-1n, -1n]);
  assert.equal(b.images.data[16 * 3 + 5], Math.fround(50 / 255), "second image, solid 50");
});

test("an empty class folder and a missing root are DataErrors naming the folder", async () => {
  const d = join(root, "emptyclass");
  mkdirSync(join(d, "cats"), { recursive: true });
  mkdirSync(join(d, "dogs"), { recursive: true });
  await solid(join(d, "cats", "c.png"), 1);
  await assert.rejects(openImageFolder(d), (e: unknown) => e instanceof DataError && e.file === join(d, "dogs"));
  await assert.rejects(openImageFolder(join(root, "nowhere")), (e: unknown) => e instanceof DataError && e.file === join(root, "nowhere"));
  const none = join(root, "none");
  mkdirSync(none);
  await assert.rejects(openImageFolder(none), (e: unknown) => e instanceof DataError && e.got === "none");
});

test("a corrupt file surfaces as a DataError from image(i)", async () => {
  const d = join(root, "corrupt");
  mkdirSync(d);
  writeFileSync(join(d, "bad.png"), "garbage");
  const ds = await openImageFolder(d);
  await assert.rejects(ds.image(0), (e: unknown) => e instanceof DataError && e.file === join(d, "bad.png"));
});
