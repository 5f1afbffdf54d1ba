import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { runCli } from "../../src/cli/main.js";
import { Generator } from "../../src/models/generator/generator.js";
import { generator10bit, validateGeneratorConfig } from "../../src/models/generator/config.js";
import { Tokenizer } from "../../src/models/tokenizer/tokenizer.js";
import { tokenizer10bit } from "../../src/models/tokenizer/config.js";

// A tiny random pair: 32x32 grayscale tokenizer with a 4x4 grid, 3-class generator with names.
const dir = mkdtempSync(join(tmpdir(), "maskbit-generate-"));
const tokCfg = { ...tokenizer10bit, numChannels: 1, hiddenChannels: 32, channelMult: [1, 1, 2, 2], numResolutions: 4 };
const genCfg = validateGeneratorConfig({
  ...generator10bit, hiddenDim: 32, depth: 1, heads: 2, mlpDim: 64, numClasses: 3, tokenGrid: 4,
  sampling: { ...generator10bit.sampling, steps: 4, guidanceScale: 1.5, randomizeTemperature: 1 },
});
Tokenizer.random(tokCfg, 1).save(join(dir, "tok.safetensors"));
Generator.random(genCfg, 2, {}, ["Shirt", "Ankle boot", "Bag"]).save(join(dir, "gen.safetensors"));
const base = ["generate", "--generator", join(dir, "gen.safetensors"), "--tokenizer", join(dir, "tok.safetensors"), "--quiet", "--threads", "1"];

test("generate --class <name> -n 4 writes a labelled grid; the same seed gives the same picture", async () => {
  const a = join(dir, "a.png"), b = join(dir, "b.png");
  assert.equal(await runCli([...base, "--class", "ankle boot", "-n", "4", "--seed", "7", "--out", a]), 0);
  assert.equal(await runCli([...base, "--class", "1", "-n", "4", "--seed", "7", "--out", b]), 0);
  const [ia, ib] = await Promise.all([a, b].map((p) => sharp(p).raw().toBuffer({ resolveWithObject: true })));
  assert.ok(ia!.info.width > 4 * 32 && ia!.info.height >= 32, `grid ${ia!.info.width}x${ia!.info.height}`);
  assert.deepEqual(ia!.data, ib!.data);
});

test("generate --all-classes: one row per class", async () => {
  const out = join(dir, "all.png");
  assert.equal(await runCli([...base, "--all-classes", "-n", "2", "--seed", "1", "--out", out]), 0);
  const meta = await sharp(out).metadata();
  assert.ok(meta.height! >= 3 * 32 && meta.height! < 4 * 32 + 40, `height ${meta.height}`);
});

test("generate: an unknown class name or no class is a clear error (exit 3 input, 2 usage)", async () => {
  assert.equal(await runCli([...base, "--class", "Sneaker", "--out", join(dir, "x.png")]), 3);
  assert.equal(await runCli([...base, "--out", join(dir, "x.png")]), 2);
  assert.equal(await runCli(["generate", "--generator", join(dir, "missing.safetensors"), "--class", "1"]), 2);
});

test("generate --dtype fp16|int8 writes a grid; a bad --dtype is a usage error (exit 2)", async () => {
  for (const dtype of ["fp16", "int8"]) {
    const out = join(dir, `${dtype}.png`);
    assert.equal(await runCli([...base, "--class", "0", "-n", "2", "--seed", "3", "--dtype", dtype, "--out", out]), 0, dtype);
    const img = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    assert.ok(img.info.width >= 2 * 32, `${dtype} grid ${img.info.width}x${img.info.height}`);
  }
  assert.equal(await runCli([...base, "--class", "0", "--dtype", "int4", "--out", join(dir, "bad.png")]), 2);
  assert.equal(await runCli([...base, "--class", "0", "--dtype", "", "--out", join(dir, "bad.png")]), 2);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
