// The 8x8 handwritten digits of UCI / scikit-learn (1,797 images, 10 classes, grey levels 0..16),
// shipped by the Debian package python3-sklearn as sklearn/datasets/data/digits.csv.gz: a
// class-labelled set installable offline from apt (no MNIST package exists in the npm or Debian
// archives this project can reach). Rows are 64 pixel values then the label. The images are written
// once as 8x8 PNGs into class folders (<work>/digits/{train,test}/<d>/<i>.png); recipes read them
// as an image folder resized to 32x32. The first 1,497 rows train, the last 300 test. Only the
// Node-side experiment runner reads it (node:zlib, node:fs), never the core.

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { DataError } from "../io/data-error.js";
import { HostTensor } from "../engine/host-tensor.js";
import { encodePng } from "../io/image.js";
import { writeAtomic } from "./results.js";

export const DIGITS_CSV = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
export const DIGITS_TEST = 300;
/** Test rows for a file of `count` rows: the last 300 (of 1,797), or a fifth of a smaller file. */
export const digitsTestRows = (count: number): number => Math.min(DIGITS_TEST, Math.floor(count / 5));

export interface DigitsRows {
  /** [N, 64] grey levels 0..16 */
  readonly pixels: Uint8Array;
  readonly labels: Int32Array;
  readonly count: number;
}

/** Parses the (gzipped or plain) CSV; every row must have 65 integers, pixels in 0..16, labels in 0..9. */
export function parseDigitsCsv(bytes: Uint8Array, source = "digits.csv"): DigitsRows {
  const text = new TextDecoder().decode(bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes);
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const pixels = new Uint8Array(lines.length * 64), labels = new Int32Array(lines.length);
  lines.forEach((line, r) => {
    const v = line.split(",").map((s) => Number(s.trim()));
    const bad = (expected: string) => new DataError({ op: "parseDigitsCsv", file: `${source}:${r + 1}`, expected, got: line.slice(0, 60) });
    if (v.length !== 65 || !v.every(Number.isInteger)) throw bad("65 comma-separated integers (64 pixels, 1 label)");
    for (let i = 0; i < 64; i++) {
      if (v[i]! < 0 || v[i]! > 16) throw bad("pixel values in 0..16");
      pixels[r * 64 + i] = v[i]!;
    }
    if (v[64]! < 0 || v[64]! > 9) throw bad("a label in 0..9");
    labels[r] = v[64]!;
  });
  return { pixels, labels, count: lines.length };
}

/** Writes the class folders (once; reused when present) and returns their roots. */
export async function prepareDigitsFolders(csv: string, workDir: string): Promise<{ train: string; test: string }> {
  const root = join(workDir, "digits");
  const train = join(root, "train"), test = join(root, "test"), marker = join(root, "complete");
  if (existsSync(marker)) return { train, test };
  if (!existsSync(csv)) {
    throw new DataError({ op: "digits", file: csv, expected: "the scikit-learn digits CSV", got: "no such file", hint: "install it offline from Debian: apt-get install python3-sklearn" });
  }
  const rows = parseDigitsCsv(readFileSync(csv), csv);
  for (let i = 0; i < rows.count; i++) {
    const dir = join(i < rows.count - digitsTestRows(rows.count) ? train : test, String(rows.labels[i]));
    mkdirSync(dir, { recursive: true });
    const img = HostTensor.f32(Array.from(rows.pixels.subarray(i * 64, (i + 1) * 64), (p) => p / 16), [1, 1, 8, 8]);
    writeAtomic(join(dir, `${String(i).padStart(4, "0")}.png`), await encodePng(img));
  }
  writeAtomic(marker, `${rows.count}\n`);
  return { train, test };
}
