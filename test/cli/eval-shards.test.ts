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
import { readSafetensors, writeSafetensors } from "../../src/io/safetensors.js";
import { EvalSums, mergeEvalSums } from "../../src/eval/eval-sums.js";

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

/** Every sum and feature statistic (hi + lo, rounded once, as scored) of a shard file's state. */
function roundedState(sums: EvalSums): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [k, v] of sums.sums) out.set(`sums.${k}`, [...v]);
  for (const [k, st] of sums.stats) {
    const t = st.toTensors();
    for (const key of ["sum", "sum_outer"]) {
      const hi = t.get(key)!.data as Float64Array, lo = t.get(`${key}_lo`)!.data as Float64Array;
      out.set(`stats.${k}.${key}`, Array.from(hi, (h, i) => h + lo[i]!));
    }
    out.set(`stats.${k}.count`, [st.count]);
  }
  for (const [k, l] of sums.logits) out.set(`logits.${k}`, [...l.data]);
  return out;
}

test("eval-generator at one --batch: 1, 2 and 3 shards merge to the unsharded sums and scores bit for bit", async () => {
  const exact = [...args, "--batch", "2"];
  assert.equal(await runCli([...exact, "--save-shard", p("x-whole.safetensors"), "--json", p("x-whole.json")]), 0);
  const whole = EvalSums.load(p("x-whole.safetensors"));
  const wantState = roundedState(whole);
  const { shard: _s, ...wantReport } = report(p("x-whole.json"));
  for (const n of [2, 3]) {
    const files = Array.from({ length: n }, (_, i) => p(`x${n}-${i}.safetensors`));
    for (let i = 0; i < n; i++) assert.equal(await runCli([...exact, "--shard", `${i}/${n}`, "--save-shard", files[i]!, "--json", p(`x${n}-${i}.json`)]), 0);
    const merged = mergeEvalSums(files.map((f) => EvalSums.load(f)));
    assert.deepEqual(roundedState(merged), wantState, `${n} shards: merged sums equal the unsharded sums exactly`);
    assert.equal(await runCli(["eval-merge", ...files.reverse(), "--json", p(`x${n}-merged.json`)]), 0);
    const { shard: _m, shards, ...got } = report(p(`x${n}-merged.json`));
    assert.equal(shards, n);
    assert.deepEqual(got, wantReport, `${n} shards: every score identical to the unsharded run`);
  }
});

/** A copy of a shard file with its metadata (and optionally a tensor) changed. */
function craft(from: string, to: string, meta: Record<string, string>, tensors: Record<string, HostTensor> = {}): string {
  const f = readSafetensors(from);
  const t = new Map(f.tensors);
  for (const [k, v] of Object.entries(tensors)) t.set(k, v);
  writeSafetensors(p(to), t, { ...f.metadata, ...meta });
  return p(to);
}

test("eval-merge refuses crafted or mixed-up shard sets with exit 3, naming the file and the field", async (t) => {
  const errors: string[] = [];
  t.mock.method(console, "error", (msg: string) => { errors.push(msg); });
  const s3 = [0, 1, 2].map((i) => p(`x3-${i}.safetensors`)), s2 = [0, 1].map((i) => p(`x2-${i}.safetensors`));
  assert.ok(s3.every((f) => existsSync(f)), "the exact-merge test wrote the shards");
  const settings = JSON.parse(readSafetensors(s3[0]!).metadata.settings!) as Record<string, unknown>;
  const refuse = async (files: string[], pattern: RegExp, what: string) => {
    assert.equal(await runCli(["eval-merge", ...files]), 3, what);
    assert.match(errors.at(-1)!, pattern, what);
    assert.ok(errors.at(-1)!.split("\n").length <= 3, `${what}: a short message`);
  };
  // Half the run relabelled as the whole: the counts do not fit the header.
  const half = craft(s2[0]!, "half.safetensors", { shard: "0/1" });
  await refuse([half], /half\.safetensors stats\.fd_gen\.count\): expected 10 .*got 4/, "shard 0/2 relabelled 0/1");
  await refuse([s3[0]!, s3[2]!], /missing 1\/3/, "a missing shard");
  await refuse([s3[0]!, s3[1]!, s3[0]!], /exactly once, got shard 0\/3 again/, "a duplicate shard");
  const dup = craft(s3[1]!, "dup.safetensors", { shard: "0/3" });
  await refuse([s3[0]!, dup, s3[2]!], /dup\.safetensors stats\.fd_gen\.count|again/, "shard 1/3 relabelled 0/3");
  await refuse([s3[0]!, s3[1]!, s2[1]!], /x2-1\.safetensors __metadata__\.shard\): expected shards of one split into 3/, "shards of two splits");
  const otherSeed = craft(s3[1]!, "seed.safetensors", { settings: JSON.stringify({ ...settings, seed: 10 }) });
  await refuse([s3[0]!, otherSeed, s3[2]!], /seed\.safetensors __metadata__\.settings\.seed\): expected the same run settings/, "another seed");
  const otherSteps = craft(s3[2]!, "steps.safetensors", { settings: JSON.stringify({ ...settings, steps: 4 }) });
  await refuse([s3[0]!, s3[1]!, otherSteps], /settings\.steps/, "other sampling settings");
  // Settings claiming twice the samples in every shard (consistent headers, wrong counts).
  const doubled = s3.map((f, i) => craft(f, `double${i}.safetensors`, { settings: JSON.stringify({ ...settings, samples: 20 }) }));
  await refuse(doubled, /double0\.safetensors stats\.fd_gen\.count\): expected 6 .*got 2/, "a sample count the sums disagree with");
  // Sums that disagree with the statistics.
  const counts = readSafetensors(s3[1]!).tensors.get("sums.class_count")!;
  const bumped = Float64Array.from(counts.data as Float64Array, (v, i) => (i === 0 ? v + 1 : v));
  const badSum = craft(s3[1]!, "badsum.safetensors", {}, { "sums.class_count": new HostTensor("float64", [bumped.length], bumped) });
  await refuse([s3[0]!, badSum, s3[2]!], /badsum\.safetensors sums\.class_count \(total\)\)/, "class counts that disagree");
  await refuse([craft(s3[0]!, "huge.safetensors", { shard: "0/99999999999" })], /missing 1\/99999999999/, "a huge shard count");
  await refuse([craft(s3[0]!, "trunc.safetensors", { settings: JSON.stringify(settings).slice(0, 30) })], /trunc\.safetensors\): expected __metadata__\.settings/, "truncated settings");
  await refuse([craft(s3[0]!, "nobatch.safetensors", { shard: "0/1", settings: JSON.stringify({ ...settings, batch: "2" }) })], /settings\.batch\): expected a positive integer/, "a batch that is not a number");
  await refuse([craft(s3[0]!, "many.safetensors", { shard: "0/9" }), ...Array.from({ length: 8 }, (_, i) => craft(s3[0]!, `many${i + 1}.safetensors`, { shard: `${i + 1}/9` }))], /at most 5 shards/, "more shards than batches");
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
