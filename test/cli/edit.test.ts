import { EXIT } from "../../src/cli/errors.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { runCli } from "../../src/cli/main.js";

// inpaint, outpaint and bits end to end with the shipped Fashion-MNIST models (32x32 grey -> 8x8 tokens).
const dir = mkdtempSync(join(tmpdir(), "maskbit-edit-"));
const grey = (w: number, h: number, f: (x: number, y: number) => number) =>
  sharp(Buffer.from(Array.from({ length: w * h }, (_, i) => f(i % w, Math.floor(i / w)))), { raw: { width: w, height: h, channels: 1 } }).toColourspace("b-w").png();
const image = join(dir, "bag.png"), mask = join(dir, "mask.png");
// A bag-like shape: a bright box with a handle.
await grey(32, 32, (x, y) => ((x >= 6 && x < 26 && y >= 12 && y < 28) || ((y === 6 || y === 7) && x >= 11 && x < 21) || (y >= 6 && y < 12 && (x === 11 || x === 20)) ? 200 : 0)).toFile(image);
await grey(32, 32, (x) => (x >= 20 ? 255 : 0)).toFile(mask);
await grey(32, 32, () => 0).toFile(join(dir, "empty.png"));
await grey(28, 28, () => 255).toFile(join(dir, "small.png"));
writeFileSync(join(dir, "not-an-image.png"), "hello");
const common = ["--threads", "1", "--quiet"];
const size = async (p: string) => { const m = await sharp(p).metadata(); return [m.width, m.height]; };
const pixels = async (p: string) => (await sharp(p).raw().toBuffer());

test("inpaint: a grid of input, mask and N completions; the same seed gives the same picture; --out is not overwritten without --force", async () => {
  const a = join(dir, "inpaint-a.png"), b = join(dir, "inpaint-b.png");
  assert.equal(await runCli(["inpaint", image, "--mask", mask, "--class", "Bag", "-n", "2", "--seed", "3", "--out", a, ...common]), 0);
  assert.deepEqual(await size(a), [4 * 34 + 2, 36]);
  assert.equal(await runCli(["inpaint", image, "--mask", mask, "--class", "8", "-n", "2", "--seed", "3", "--out", b, ...common]), 0);
  assert.deepEqual(await pixels(a), await pixels(b));
  // Refuses to overwrite, then overwrites with --force (a group-level edit, class from the classifier).
  assert.equal(await runCli(["inpaint", image, "--mask", mask, "-n", "2", "--seed", "4", "--out", a, ...common]), EXIT.usage);
  assert.deepEqual(await pixels(a), await pixels(b));
  assert.equal(await runCli(["inpaint", image, "--mask", mask, "--groups", "1", "-n", "2", "--seed", "4", "--out", a, "--force", ...common]), 0);
  assert.notDeepEqual(await pixels(a), await pixels(b));
});

test("inpaint: masks of the wrong size, with nothing masked, or that are not images are input errors (exit 3) and write nothing", async () => {
  for (const m of ["small.png", "empty.png", "not-an-image.png", "missing.png"]) {
    const out = join(dir, `bad-${m}`);
    assert.equal(await runCli(["inpaint", image, "--mask", join(dir, m), "--class", "Bag", "-n", "1", "--out", out, ...common]), EXIT.input, m);
    assert.equal(existsSync(out), false, m);
  }
  assert.equal(await runCli(["inpaint", image, "--class", "Bag", "--out", join(dir, "x.png"), ...common]), EXIT.usage);
});

test("outpaint: the canvas grows by whole tokens (4 px each) on the given sides", async () => {
  const out = join(dir, "outpaint.png");
  assert.equal(await runCli(["outpaint", image, "--left", "1", "--bottom", "2", "--class", "Bag", "-n", "2", "--seed", "1", "--out", out, ...common]), 0);
  assert.deepEqual(await size(out), [3 * 38 + 2, 40 + 4]);
  assert.equal(await runCli(["outpaint", image, "--class", "Bag", "--out", join(dir, "none.png"), ...common]), EXIT.usage);
});

test("bits: one flipped plane, or one tile per plane with --all-planes; bad planes and regions are errors", async () => {
  const one = join(dir, "bits.png"), all = join(dir, "bits-all.png"), region = join(dir, "bits-region.png");
  assert.equal(await runCli(["bits", image, "--plane", "9", "--out", one, "--threads", "1"]), 0);
  assert.deepEqual(await size(one), [3 * 34 + 2, 36]);
  assert.equal(await runCli(["bits", image, "--plane", "9", "--region", "0,0,4,8", "--out", region, "--threads", "1"]), 0);
  assert.notDeepEqual(await pixels(one), await pixels(region));
  assert.equal(await runCli(["bits", image, "--all-planes", "--out", all, "--threads", "1"]), 0);
  assert.deepEqual(await size(all), [12 * 34 + 2, 36]);
  const scaled = join(dir, "bits-scaled.png");
  assert.equal(await runCli(["bits", image, "--plane", "9", "--scale", "2", "--out", scaled, "--threads", "1"]), 0);
  assert.deepEqual(await size(scaled), [3 * 66 + 2, 68]);
  for (const bad of [["--plane", "10"], ["--plane", "1", "--region", "1,2"], [], ["--plane", "1", "--all-planes"]]) {
    assert.equal(await runCli(["bits", image, ...bad, "--out", join(dir, "bad-bits.png"), "--threads", "1"]), EXIT.usage, bad.join(" "));
  }
  // A region outside this tokenizer's grid is a mismatch with the input, found once the image is tokenized.
  assert.equal(await runCli(["bits", image, "--plane", "1", "--region", "6,0,4,1", "--out", join(dir, "bad-bits.png"), "--threads", "1"]), EXIT.input);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
