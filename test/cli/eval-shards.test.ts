// Sharded generator evaluation: each sample is seeded by its global index, so 1, 2 or 3 shards
// (with different batch sizes) draw the same samples, written as the ADM evaluator's .npz and
// compared byte for byte; the shards' FID-style sums merge to the unsharded report. Plus the
// .npz layout as the evaluator reads it (zip entries, .npy header, uint8 NHWC, C order).

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { runCli } from "../../src/cli/main.js";
import { Generator } from "../../src/models/generator/generator.js";
import { generator10bit, validateGeneratorConfig } from "../../src/models/generator/config.js";
import { Tokenizer } from "../../src/models/tokenizer/tokenizer.js";
import { tokenizer10bit } from "../../src/models/tokenizer/config.js";
import { smallClassifierSpecs, type SmallClassifierConfig } from "../../src/models/perceptual/small-classifier.js";
import { DEFAULT_CLASSIFIER_PATH, writeClassifierFile } from "../../src/eval/classifier.js";
import { ParamStore } from "../../src/engine/params.js";
import { encodeIdx } from "../../src/data/idx.js";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { imagesToAdmBatch } from "../../src/io/npz.js";

const dir = mkdtempSync(join(tmpdir(), "maskbit-eval-shards-"));
const p = (name: string) => join(dir, name);
const tokCfg = { ...tokenizer10bit, numChannels: 1, hiddenChannels: 32, channelMult: [1, 1, 2, 2], numResolutions: 4 };
const genCfg = validateGeneratorConfig({
  ...generator10bit, hiddenDim: 32, depth: 1, heads: 2, mlpDim: 64, numClasses: 10, tokenGrid: 4,
  sampling: { ...generator10bit.sampling, steps: 3, guidanceScale: 1.5, randomizeTemperature: 1 },
});
Tokenizer.random(tokCfg, 1).save(p("tok.safetensors"));
Generator.random(genCfg, 2).save(p("gen.safetensors"));
let classifier = DEFAULT_CLASSIFIER_PATH;
if (!existsSync(classifier)) {
  const cfg: SmallClassifierConfig = { inChannels: 1, numClasses: 10, width: 8, numStages: 2, imageSize: 32, mean: [0.5], std: [0.5] };
  classifier = p("classifier.safetensors");
  writeClassifierFile(classifier, ParamStore.init(smallClassifierSpecs(cfg), 3).values, cfg);
}
for (const [prefix, n] of [["train", 12], ["t10k", 12]] as const) {
  const pixels = Uint8Array.from({ length: n * 28 * 28 }, (_, i) => (i * 2654435761) % 251);
  writeFileSync(p(`${prefix}-images-idx3-ubyte`), encodeIdx({ dtype: "uint8", dims: [n, 28, 28], data: pixels }));
  writeFileSync(p(`${prefix}-labels-idx1-ubyte`), encodeIdx({ dtype: "uint8", dims: [n], data: Uint8Array.from({ length: n }, (_, i) => i % 10) }));
}
const args = ["eval-generator", "--tokenizer", p("tok.safetensors"), "--generator", p("gen.safetensors"), "--classifier", classifier, "--data", dir,
  "--threads", "1", "--quiet", "--per-class", "1", "--reference", "test", "--reference-limit", "12", "--seed", "9"];

interface Npy { readonly descr: string; readonly fortran: boolean; readonly shape: number[]; readonly data: Uint8Array }

/** Parses a .npy (version 1.0) as numpy does: magic, header dict, then the raw data. */
function parseNpy(b: Uint8Array): Npy {
  assert.deepEqual([...b.subarray(0, 8)], [0x93, ...new TextEncoder().encode("NUMPY"), 1, 0], "magic and version 1.0");
  const len = b[8]! | (b[9]! << 8);
  const header = new TextDecoder().decode(b.subarray(10, 10 + len));
  assert.equal((10 + len) % 64, 0, "header padded to 64 bytes");
  assert.ok(header.endsWith("\n"));
  const descr = /'descr': '([^']+)'/.exec(header)![1]!;
  const fortran = /'fortran_order': (True|False)/.exec(header)![1] === "True";
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1]!.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  return { descr, fortran, shape, data: b.subarray(10 + len) };
}

function readAdm(path: string): Npy {
  const files = unzipSync(readFileSync(path));
  assert.deepEqual(Object.keys(files), ["arr_0.npy"], "one array, arr_0");
  const npy = parseNpy(files["arr_0.npy"]!);
  assert.equal(npy.descr, "|u1");
  assert.equal(npy.fortran, false, "C order");
  assert.equal(npy.shape.length, 4);
  assert.equal(npy.shape[3], 3, "NHWC with 3 channels");
  assert.equal(npy.data.length, npy.shape.reduce((a, d) => a * d, 1));
  return npy;
}

const report = (f: string) => JSON.parse(readFileSync(f, "utf8")) as Record<string, unknown>;

test("eval-generator: the same samples (and merged scores) for 1, 2 and 3 shards at different batch sizes", async () => {
  assert.equal(await runCli([...args, "--batch", "4", "--save-npz", p("whole.npz"), "--json", p("whole.json")]), 0);
  const whole = readAdm(p("whole.npz"));
  assert.deepEqual(whole.shape, [10, 32, 32, 3]);
  for (const [n, batch] of [[2, "3"], [3, "2"]] as const) {
    const parts: Npy[] = [];
    for (let i = 0; i < n; i++) {
      const tag = `s${n}-${i}`;
      assert.equal(await runCli([...args, "--batch", batch, "--shard", `${i}/${n}`, "--save-shard", p(`${tag}.safetensors`), "--save-npz", p(`${tag}.npz`), "--json", p(`${tag}.json`)]), 0);
      parts.push(readAdm(p(`${tag}.npz`)));
    }
    assert.equal(parts.reduce((k, q) => k + q.shape[0]!, 0), 10);
    const joined = new Uint8Array(whole.data.length);
    let at = 0;
    for (const q of parts) { joined.set(q.data, at); at += q.data.length; }
    assert.deepEqual(joined, whole.data, `${n} shards concatenated give the unsharded samples`);
    assert.equal(await runCli(["eval-merge", ...Array.from({ length: n }, (_, i) => p(`s${n}-${i}.safetensors`)), "--json", p(`m${n}.json`)]), 0);
    const [a, b] = [report(p("whole.json")), report(p(`m${n}.json`))];
    for (const k of ["fd_fmnist", "class_accuracy", "samples", "reference_images"]) {
      assert.ok(Math.abs((a[k] as number) - (b[k] as number)) <= 1e-9 * Math.max(1, Math.abs(a[k] as number)), `${k}: ${a[k]} vs merged ${b[k]}`);
    }
  }
  // The samples do depend on the seed (the equality above is not vacuous).
  assert.equal(await runCli([...args.slice(0, -1), "10", "--batch", "4", "--save-npz", p("other.npz"), "--json", p("other.json")]), 0);
  assert.notDeepEqual(readAdm(p("other.npz")).data, whole.data);
});

test("imagesToAdmBatch: clamp, x255 in float32, truncate; grayscale repeated to RGB, NHWC", () => {
  const gray = HostTensor.f32([0, 0.5, 1, 1.5, -0.2, 0.999, 254.5 / 255, NaN], [2, 1, 2, 2]);
  const out = imagesToAdmBatch(gray);
  assert.equal(out.dtype, "uint8");
  assert.deepEqual(out.shape, [2, 2, 2, 3]);
  const px = [0, 127, 255, 255, 0, 254, 254, 0];
  assert.deepEqual([...(out.data as Uint8Array)], px.flatMap((v) => [v, v, v]));
  const rgb = HostTensor.f32([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [1, 3, 1, 2]);
  assert.deepEqual([...(imagesToAdmBatch(rgb).data as Uint8Array)], [25, 76, 127, 51, 102, 153]);
});
