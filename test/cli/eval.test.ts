import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/main.js";
import { Generator } from "../../src/models/generator/generator.js";
import { generator10bit, validateGeneratorConfig } from "../../src/models/generator/config.js";
import { Tokenizer } from "../../src/models/tokenizer/tokenizer.js";
import { tokenizer10bit } from "../../src/models/tokenizer/config.js";
import { smallClassifierSpecs, type SmallClassifierConfig } from "../../src/models/perceptual/small-classifier.js";
import { DEFAULT_CLASSIFIER_PATH, writeClassifierFile } from "../../src/eval/classifier.js";
import { ParamStore } from "../../src/engine/params.js";
import { encodeIdx } from "../../src/data/idx.js";
import { parseShard, shardRange } from "../../src/eval/shard.js";

// Tiny random models, the shipped classifier when it is there (else a tiny random one), and a
// tiny Fashion-MNIST-shaped IDX directory, so the test needs neither trained models nor the dataset.
const dir = mkdtempSync(join(tmpdir(), "maskbit-eval-"));
const p = (name: string) => join(dir, name);
const tokCfg = { ...tokenizer10bit, numChannels: 1, hiddenChannels: 32, channelMult: [1, 1, 2, 2], numResolutions: 4 };
const genCfg = validateGeneratorConfig({
  ...generator10bit, hiddenDim: 32, depth: 1, heads: 2, mlpDim: 64, numClasses: 10, tokenGrid: 4,
  sampling: { ...generator10bit.sampling, steps: 3, guidanceScale: 1.5, randomizeTemperature: 1 },
});
Tokenizer.random(tokCfg, 1).save(p("tok.safetensors"));
Generator.random(genCfg, 2, {}, Array.from({ length: 10 }, (_, i) => `class${i}`)).save(p("gen.safetensors"));
let classifier = DEFAULT_CLASSIFIER_PATH;
if (!existsSync(classifier)) {
  const cfg: SmallClassifierConfig = { inChannels: 1, numClasses: 10, width: 8, numStages: 2, imageSize: 32, mean: [0.5], std: [0.5] };
  classifier = p("classifier.safetensors");
  writeClassifierFile(classifier, ParamStore.init(smallClassifierSpecs(cfg), 3).values, cfg);
}
for (const [prefix, n] of [["train", 24], ["t10k", 24]] as const) {
  const pixels = Uint8Array.from({ length: n * 28 * 28 }, (_, i) => (i * 2654435761) % 251);
  writeFileSync(p(`${prefix}-images-idx3-ubyte`), encodeIdx({ dtype: "uint8", dims: [n, 28, 28], data: pixels }));
  writeFileSync(p(`${prefix}-labels-idx1-ubyte`), encodeIdx({ dtype: "uint8", dims: [n], data: Uint8Array.from({ length: n }, (_, i) => i % 10) }));
}

const common = ["--tokenizer", p("tok.safetensors"), "--classifier", classifier, "--data", dir, "--batch", "4", "--threads", "1", "--quiet"];
const tokArgs = ["eval-tokenizer", ...common, "--limit", "10"];
const genArgs = ["eval-generator", ...common, "--generator", p("gen.safetensors"), "--per-class", "1", "--reference", "test", "--reference-limit", "12", "--seed", "5"];
type Report = Record<string, unknown>;
const readReport = (file: string): Report => JSON.parse(readFileSync(file, "utf8")) as Report;

/** Every numeric field (nested) of a equals b's bit for bit; settings must be identical. */
function assertClose(a: Report, b: Report, path = ""): void {
  for (const [k, v] of Object.entries(a)) {
    if (k === "shard" || k === "shards") continue;
    const w = b[k];
    if (typeof v === "number") {
      assert.equal(typeof w, "number", `${path}${k}`);
      // Exact: shards take whole global batches and the sums are compensated (src/eval/compensated-sum.ts).
      assert.equal(v, w, `${path}${k}: ${v} vs ${w}`);
    } else if (v && typeof v === "object" && !Array.isArray(v)) assertClose(v as Report, w as Report, `${path}${k}.`);
    else assert.deepEqual(v, w, `${path}${k}`);
  }
}

async function shardedAndMerged(args: readonly string[], tag: string): Promise<{ whole: Report; merged: Report }> {
  assert.equal(await runCli([...args, "--json", p(`${tag}.json`)]), 0);
  for (const i of [0, 1]) {
    assert.equal(await runCli([...args, "--shard", `${i}/2`, "--save-shard", p(`${tag}${i}.safetensors`), "--json", p(`${tag}${i}.json`)]), 0);
  }
  // Files in either order: the merge orders shards by index.
  assert.equal(await runCli(["eval-merge", p(`${tag}1.safetensors`), p(`${tag}0.safetensors`), "--json", p(`${tag}-merged.json`)]), 0);
  return { whole: readReport(p(`${tag}.json`)), merged: readReport(p(`${tag}-merged.json`)) };
}

test("eval-tokenizer: JSON report; two shards merged equal the unsharded run", async () => {
  const { whole, merged } = await shardedAndMerged(tokArgs, "tok");
  assert.equal(whole.kind, "tokenizer");
  assert.equal(whole.images, 10);
  for (const k of ["rfd_fmnist", "psnr", "ssim", "mse", "mae", "codebook_usage", "codebook_entropy"]) assert.ok(Number.isFinite(whole[k]), `${k}: ${whole[k]}`);
  assert.equal(whole.rfid, null);
  assert.ok((whole.codebook_usage as number) > 0 && (whole.codebook_usage as number) <= 1);
  // The report says which fit the classifier was trained with (padded images are mapped into it).
  assert.equal((whole.settings as Report).fit, "pad");
  assert.equal((whole.settings as Report).classifier_fit, "resize");
  // --classifier-fit pad says the classifier saw padded images: no mapping, other features.
  assert.equal(await runCli([...tokArgs, "--classifier-fit", "pad", "--json", p("tok-nomap.json")]), 0);
  const unmapped = readReport(p("tok-nomap.json"));
  assert.equal((unmapped.settings as Report).classifier_fit, "pad");
  assert.equal(unmapped.psnr, whole.psnr);
  assert.notEqual(unmapped.rfd_fmnist, whole.rfd_fmnist);
  const part = readReport(p("tok0.json"));
  assert.equal(part.shard, "0/2");
  // 10 images in batches of 4 are 3 global batches; shard 0/2 takes the first whole batch.
  assert.deepEqual(part.feature_counts, { fd_real: 4, fd_fake: 4 });
  assertClose(whole, merged);
});

test("eval-generator: JSON report; two shards merged equal the unsharded run", async () => {
  const { whole, merged } = await shardedAndMerged(genArgs, "gen");
  assert.equal(whole.kind, "generator");
  assert.equal(whole.samples, 10);
  assert.equal(whole.reference_images, 12);
  for (const k of ["fd_fmnist", "class_accuracy"]) assert.ok(Number.isFinite(whole[k]), `${k}: ${whole[k]}`);
  assert.deepEqual(Object.keys(whole.per_class_accuracy as Report), Array.from({ length: 10 }, (_, i) => `class${i}`));
  assert.ok(((whole.is_fmnist as Report).mean as number) >= 1);
  assert.equal(whole.gfid, null);
  for (const k of ["precision", "recall"]) assert.ok((whole[k] as number) >= 0 && (whole[k] as number) <= 1, `${k}: ${whole[k]}`);
  assert.equal(whole.precision_recall_k, 3);
  assert.equal(whole.real_precision, null, "12 reference images are fewer than 2 x 10 samples");
  const names = Array.from({ length: 10 }, (_, i) => `class${i}`);
  assert.deepEqual(Object.keys(whole.per_class_fd as Report), names);
  // The reference labels are i % 10 for 12 images: classes 0 and 1 twice, the rest once.
  const ceiling = whole.classifier_per_class_accuracy as Record<string, number>;
  assert.deepEqual(Object.keys(ceiling), names);
  for (const v of Object.values(ceiling)) assert.ok([0, 0.5, 1].includes(v), `ceiling ${v}`);
  assertClose(whole, merged);
});

test("eval: clear errors (exit 2 usage, 3 input) for a missing Inception file, a bad --shard and incomplete or foreign shard sets", async (t) => {
  const errors: string[] = [];
  t.mock.method(console, "error", (msg: string) => { errors.push(msg); });
  assert.equal(await runCli([...tokArgs, "--inception", p("missing-inception.safetensors")]), 3);
  assert.match(errors.at(-1)!, /--inception/);
  for (const bad of ["2/2", "a/b", "1/0"]) {
    assert.equal(await runCli([...tokArgs, "--shard", bad]), 2);
    assert.match(errors.at(-1)!, /--shard/);
  }
  assert.equal(await runCli([...tokArgs, "--classifier-fit", "crop"]), 2);
  assert.match(errors.at(-1)!, /--classifier-fit/);
  assert.equal(await runCli([...tokArgs, "--shard", "0/2"]), 2, "a shard without --save-shard");
  assert.match(errors.at(-1)!, /--save-shard/);
  assert.equal(await runCli([...tokArgs, "--limit", "2", "--shard", "0/3", "--save-shard", p("x.safetensors")]), 3, "an empty shard");
  assert.match(errors.at(-1)!, /empty/);
  assert.equal(await runCli(["eval-merge", p("tok0.safetensors")]), 3);
  assert.match(errors.at(-1)!, /missing 1\/2/);
  assert.equal(await runCli(["eval-merge", p("tok0.safetensors"), p("gen1.safetensors")]), 3);
  assert.match(errors.at(-1)!, /one kind/);
  assert.equal(await runCli(["eval-merge", p("tok.safetensors")]), 3);
  assert.match(errors.at(-1)!, /evaluation shard/);
});

test("parseShard / shardRange: contiguous blocks covering every item once", () => {
  assert.deepEqual(parseShard(undefined), { index: 0, count: 1 });
  assert.deepEqual(parseShard("2/3"), { index: 2, count: 3 });
  const blocks = [0, 1, 2].map((index) => shardRange(10, { index, count: 3 }));
  assert.deepEqual(blocks.map((b) => [b.start, b.end]), [[0, 3], [3, 6], [6, 10]]);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
