// The scikit-learn digits reader (the cross-dataset option): CSV parsing, its errors, and the
// class folders the recipes read.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { DataError } from "../../src/io/data-error.js";
import { digitsTestRows, parseDigitsCsv, prepareDigitsFolders } from "../../src/experiments/digits.js";
import { digits, fashionMnist } from "../../src/experiments/datasets.js";
import { generatorDoc } from "../../src/experiments/runs.js";
import { BUDGETS } from "../../src/experiments/budget.js";
import type { ConfigObject } from "../../src/config/yaml.js";
import { decodeImage8 } from "../../src/io/image.js";
import { assertThrowsFields } from "../engine/helpers.js";

const row = (label: number, fill: (i: number) => number) => [...Array.from({ length: 64 }, (_, i) => fill(i)), label].join(",");
const enc = (s: string) => new TextEncoder().encode(s);

test("parseDigitsCsv: 64 pixels then the label per row, plain or gzipped", () => {
  const text = [row(3, (i) => i % 17), row(9, () => 16), ""].join("\n");
  for (const bytes of [enc(text), gzipSync(enc(text))]) {
    const r = parseDigitsCsv(bytes);
    assert.equal(r.count, 2);
    assert.deepEqual([...r.labels], [3, 9]);
    assert.deepEqual([...r.pixels.subarray(0, 18)], [...Array.from({ length: 17 }, (_, i) => i), 0]);
    assert.equal(r.pixels[127], 16);
  }
});

test("parseDigitsCsv rejects short rows, out-of-range pixels and labels", () => {
  assertThrowsFields(() => parseDigitsCsv(enc("1,2,3\n")), DataError, { expected: "65 comma-separated integers" });
  assertThrowsFields(() => parseDigitsCsv(enc(row(1, () => 17))), DataError, { expected: "0..16" });
  assertThrowsFields(() => parseDigitsCsv(enc(row(10, () => 0))), DataError, { expected: "0..9" });
  assertThrowsFields(() => parseDigitsCsv(enc(row(1, () => 0.5))), DataError, { expected: "integers" });
});

test("prepareDigitsFolders: class folders of 8x8 PNGs, the last fifth (at most 300) as test; reused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "maskbit-digits-"));
  try {
    const csv = join(dir, "digits.csv.gz");
    const rows = Array.from({ length: 20 }, (_, i) => row(i % 10, (p) => (p === i ? 16 : 0)));
    writeFileSync(csv, gzipSync(enc(rows.join("\n") + "\n")));
    assert.equal(digitsTestRows(20), 4);
    assert.equal(digitsTestRows(1797), 300);
    const { train, test: testDir } = await prepareDigitsFolders(csv, dir);
    assert.deepEqual(readdirSync(train).sort(), ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    assert.deepEqual(readdirSync(testDir).sort(), ["6", "7", "8", "9"]);
    const img = await decodeImage8(join(train, "3", "0003.png"));
    assert.deepEqual([img.width, img.height], [8, 8]);
    assert.equal(img.data[3], 255, "pixel 3 of row 3 is 16/16");
    assert.equal(img.data[2], 0);
    const choice = await digits(dir, join(dir, "gone.csv")); // the folders exist: the CSV is not read again
    assert.equal((await choice.test()).count, 4);
    assert.equal(choice.classifierInDomain, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("digits without the CSV: a DataError that names the Debian package", async () => {
  const dir = mkdtempSync(join(tmpdir(), "maskbit-digits-"));
  try {
    await assert.rejects(prepareDigitsFolders(join(dir, "none.csv.gz"), dir), (e: unknown) => e instanceof DataError && /python3-sklearn/.test(String(e.hint)));
    assert.equal(existsSync(join(dir, "digits")), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("generator recipes on digits turn off the Fashion-MNIST-only periodic evaluation", async () => {
  const dir = mkdtempSync(join(tmpdir(), "maskbit-digits-gen-"));
  try {
    const csv = join(dir, "d.csv");
    writeFileSync(csv, Array.from({ length: 20 }, (_, r) => row(r % 10, (i) => (i + r) % 17)).join("\n"));
    const data = await digits(join(dir, "work"), csv);
    const training = (d: ConfigObject) => d.training as ConfigObject;
    const onDigits = generatorDoc(BUDGETS.small, data, { arch: "lfq_bert", groups: 2, seed: 42 });
    assert.equal(training(onDigits).eval_samples, 0);
    assert.equal((onDigits.dataset as ConfigObject).params && ((onDigits.dataset as ConfigObject).params as ConfigObject).dataset, "image-folder");
    // Fashion-MNIST keeps the shipped config's periodic evaluation.
    const onFashion = generatorDoc(BUDGETS.small, fashionMnist, { arch: "lfq_bert", groups: 2, seed: 42 });
    assert.ok(Number(training(onFashion).eval_samples) > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
