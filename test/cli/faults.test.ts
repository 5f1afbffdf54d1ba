// Hostile and careless command lines (issue 12): every one ends in a one-or-two-line message and
// the exit code of its kind, outputs are checked before any work, and nothing a run reads is overwritten.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { runCli } from "../../src/cli/main.js";
import { EXIT, reportError } from "../../src/cli/errors.js";
import { Generator } from "../../src/models/generator/generator.js";
import { generator10bit, validateGeneratorConfig } from "../../src/models/generator/config.js";
import { Tokenizer } from "../../src/models/tokenizer/tokenizer.js";
import { tokenizer10bit } from "../../src/models/tokenizer/config.js";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { CheckpointError, FeedError } from "../../src/engine/errors.js";

const dir = mkdtempSync(join(tmpdir(), "maskbit-faults-"));
const p = (name: string) => join(dir, name);
const ROOT = join(import.meta.dirname, "../..");
const SHIPPED_TOKENIZER = join(ROOT, "models/fmnist/tokenizer.safetensors");

// A tiny pair: grayscale 32x32 tokenizer (stride 8, 4x4 grid), generator on a 4x4 grid of 10-bit tokens.
const tokCfg = { ...tokenizer10bit, numChannels: 1, hiddenChannels: 32, channelMult: [1, 1, 2, 2], numResolutions: 4 };
const genCfg = (extra: object = {}) => validateGeneratorConfig({
  ...generator10bit, hiddenDim: 32, depth: 1, heads: 2, mlpDim: 64, numClasses: 3, tokenGrid: 4,
  sampling: { ...generator10bit.sampling, steps: 2, guidanceScale: 1.5, randomizeTemperature: 1 }, ...extra,
});
Tokenizer.random(tokCfg, 1).save(p("tok.safetensors"));
Tokenizer.random({ ...tokCfg, tokenSize: 12 }, 1).save(p("tok12.safetensors"));
Generator.random(genCfg(), 2).save(p("gen.safetensors"));
Generator.random(genCfg({ tokenBits: 12 }), 2).save(p("gen12.safetensors"));
Generator.random(genCfg({ tokenGrid: 8 }), 2).save(p("gen-grid8.safetensors"));
const nanGen = Generator.random(genCfg(), 2);
const poisoned = [...nanGen.params.keys()].find((k) => k.endsWith("weight"))!;
(nanGen.params.get(poisoned)!.data as Float32Array)[3] = NaN;
nanGen.save(p("gen-nan.safetensors"));
await sharp({ create: { width: 31, height: 31, channels: 3, background: { r: 90, g: 90, b: 90 } } }).png().toFile(p("in.png"));

const pair = ["--generator", p("gen.safetensors"), "--tokenizer", p("tok.safetensors"), "--quiet", "--threads", "1", "--class", "1", "-n", "2"];

/** runCli with console.error captured. */
async function run(args: readonly string[]): Promise<{ code: number; err: string }> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => void lines.push(a.map(String).join(" "));
  try {
    return { code: await runCli(args), err: lines.join("\n") };
  } finally {
    console.error = original;
  }
}

test("numeric options: '', NaN, negatives, fractions and off-rule sizes are usage errors (exit 2), never 0", async () => {
  for (const bad of [["--guidance", ""], ["--seed", ""], ["--seed", "NaN"], ["--seed", "1.5"], ["--seed=-3"], ["--threads=-1"], ["-n", "0"], ["--batch", "0"], ["--steps", "2x"]]) {
    const r = await run(["generate", ...pair, ...bad, "--out", p("never.png")]);
    assert.equal(r.code, EXIT.usage, `${bad.join(" ")}: ${r.err}`);
    assert.match(r.err, /expected (an integer|a finite number)/);
    assert.ok(r.err.split("\n").length <= 2, r.err);
  }
  const size = await run(["reconstruct", p("in.png"), "--tokenizer", SHIPPED_TOKENIZER, "--size", "31", "--out", p("r.png")]);
  assert.equal(size.code, EXIT.usage);
  assert.match(size.err, /multiple of 4.*got "31".*try 28 or 32/);
  const huge = await run(["tokenize", p("in.png"), "--tokenizer", SHIPPED_TOKENIZER, "--size", "8192", "--out", p("huge.json")]);
  assert.equal(huge.code, EXIT.usage);
  assert.match(huge.err, /<= 724 .*MASKBIT_MAX_SIZE raises it/);
  assert.equal((await run(["no-such-command"])).code, EXIT.usage);
  assert.equal((await run(["generate", "--bogus"])).code, EXIT.usage);
});

test("reconstruct of a 31x31 image states the rule: reconstructed at 32x32, with a note naming the input", async () => {
  const r = await run(["reconstruct", p("in.png"), "--tokenizer", SHIPPED_TOKENIZER, "--threads", "1", "--out", p("recon.png")]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /in\.png is 31x31; reconstructed at 32x32/);
});

test("outputs: never an input or a shipped model, an existing file only with --force, a missing directory before any work", async () => {
  const before = readFileSync(p("in.png"));
  const self = await run(["tokenize", p("in.png"), "--tokenizer", SHIPPED_TOKENIZER, "--out", p("in.png"), "--force"]);
  assert.equal(self.code, EXIT.usage);
  assert.match(self.err, /a path other than the run's inputs/);
  assert.deepEqual(readFileSync(p("in.png")), before);
  const shipped = await run(["tokenize", p("in.png"), "--out", join(ROOT, "models/fmnist/ids.json")]);
  assert.equal(shipped.code, EXIT.usage);
  assert.match(shipped.err, /outside the shipped models/);
  const overModel = await run(["generate", ...pair, "--out", p("tok.safetensors"), "--force"]);
  assert.equal(overModel.code, EXIT.usage);
  writeFileSync(p("old.json"), "keep me");
  const exists = await run(["tokenize", p("in.png"), "--tokenizer", SHIPPED_TOKENIZER, "--out", p("old.json")]);
  assert.equal(exists.code, EXIT.usage);
  assert.match(exists.err, /--force/);
  assert.equal(readFileSync(p("old.json"), "utf8"), "keep me");
  assert.equal((await run(["tokenize", p("in.png"), "--tokenizer", SHIPPED_TOKENIZER, "--threads", "1", "--out", p("old.json"), "--force"])).code, 0);
  assert.match(readFileSync(p("old.json"), "utf8"), /"tokenBits": 10/);
  const noDir = await run(["generate", ...pair, "--out", p("missing-dir/x.png")]);
  assert.equal(noDir.code, EXIT.usage);
  assert.match(noDir.err, /an existing directory to write into/);
  mkdirSync(p("a-dir"));
  assert.equal((await run(["generate", ...pair, "--out", p("a-dir"), "--force"])).code, EXIT.usage);
  const train = await run(["train-tokenizer", "--config", join(ROOT, "configs/fmnist_tokenizer.yaml"), "--out", join(ROOT, "models/fmnist")]);
  assert.equal(train.code, EXIT.usage);
  assert.match(train.err, /outside the shipped models/);
  writeFileSync(p("a-dir/notes.txt"), "mine");
  const foreign = await run(["train-tokenizer", "--config", join(ROOT, "configs/fmnist_tokenizer.yaml"), "--out", p("a-dir"), "training.max_train_steps=1"]);
  assert.equal(foreign.code, EXIT.input);
  assert.match(foreign.err, /an empty directory or a maskbit run directory.*notes\.txt/);
  assert.equal(readFileSync(p("a-dir/notes.txt"), "utf8"), "mine");
});

test("a malformed override or a truncated recipe is an input error naming it (exit 3), not a YAML stack", async () => {
  const cfg = join(ROOT, "configs/fmnist_tokenizer.yaml");
  const ov = await run(["train-tokenizer", "--config", cfg, "--out", p("run-ov"), "training.seed=[1,"]);
  assert.equal(ov.code, EXIT.input);
  assert.match(ov.err, /override \(training\.seed/);
  writeFileSync(p("cut.yaml"), readFileSync(cfg, "utf8").slice(0, 200) + "\n  bad: [1,\n");
  const cut = await run(["train-tokenizer", "--config", p("cut.yaml"), "--out", p("run-cut")]);
  assert.equal(cut.code, EXIT.input, cut.err);
  assert.ok(!/\n\s+at /.test(cut.err), "no stack trace");
});

test("--verbose (or MASKBIT_DEBUG=1) adds the stack; a truncated recipe.json on --resume is named (exit 3)", async () => {
  const quiet = await run(["tokenize", p("missing.png"), "--tokenizer", SHIPPED_TOKENIZER, "--out", p("v.json")]);
  assert.equal(quiet.code, EXIT.input);
  assert.ok(!/\n\s+at /.test(quiet.err), quiet.err);
  const verbose = await run(["tokenize", p("missing.png"), "--tokenizer", SHIPPED_TOKENIZER, "--out", p("v.json"), "--verbose"]);
  assert.equal(verbose.code, EXIT.input);
  assert.match(verbose.err, /\n\s+at /);
  mkdirSync(p("gen-run"));
  writeFileSync(p("gen-run/recipe.json"), '{"experiment": {"vqgan_ch');
  const cut = await run(["train-generator", "--config", join(ROOT, "configs/fmnist_generator.yaml"), "--out", p("gen-run"), "--resume"]);
  assert.equal(cut.code, EXIT.input);
  assert.match(cut.err, /gen-run\/recipe\.json\): expected the run's recipe as JSON.*--tokenizer/);
});

test("generator and tokenizer must belong together: bits and grid mismatches name both files and the field (exit 3)", async () => {
  const base = ["--quiet", "--threads", "1", "--class", "0", "-n", "1"];
  const bits = await run(["generate", "--generator", p("gen12.safetensors"), "--tokenizer", p("tok.safetensors"), ...base, "--out", p("b.png")]);
  assert.equal(bits.code, EXIT.input);
  assert.match(bits.err, /gen12\.safetensors with tokenizer .*tok\.safetensors.*tokenBits = 12.*token bits 10/);
  const bits2 = await run(["generate", "--generator", p("gen.safetensors"), "--tokenizer", p("tok12.safetensors"), ...base, "--out", p("b.png")]);
  assert.equal(bits2.code, EXIT.input);
  const grid = await run(["generate", "--generator", p("gen-grid8.safetensors"), "--tokenizer", p("tok.safetensors"), ...base, "--out", p("g.png")]);
  assert.equal(grid.code, EXIT.input);
  assert.match(grid.err, /tokenGrid 8 to equal the tokenizer's grid \(image size 32 \/ stride 8 = 4\)/);
  const nan = await run(["generate", "--generator", p("gen-nan.safetensors"), "--tokenizer", p("tok.safetensors"), ...base, "--out", p("n.png")]);
  assert.equal(nan.code, EXIT.input);
  assert.ok(nan.err.includes(`${poisoned}: non-finite value NaN at flat index 3`), nan.err);
  for (const f of ["b.png", "g.png", "n.png"]) assert.throws(() => statSync(p(f)), /ENOENT/);
});

test("generate -n in bounded batches: --batch 2 for 5 samples gives the grid of 5; --out-dir writes one PNG per sample", async () => {
  assert.equal((await run(["generate", ...pair.slice(0, -2), "-n", "5", "--batch", "2", "--seed", "3", "--out", p("five.png")])).code, 0);
  const meta = await sharp(p("five.png")).metadata();
  assert.ok(meta.width! > 5 * 32, `${meta.width}`);
  const outDir = p("samples");
  assert.equal((await run(["generate", ...pair.slice(0, -2), "-n", "3", "--batch", "2", "--seed", "3", "--out-dir", outDir])).code, 0);
  assert.deepEqual((await import("node:fs")).readdirSync(outDir).sort(), ["class_1-000000.png", "class_1-000001.png", "class_1-000002.png"]);
  assert.equal((await run(["generate", ...pair.slice(0, -2), "-n", "1", "--out-dir", outDir])).code, EXIT.usage, "existing samples need --force");
});

test("library guards: NaN/huge images, empty decode, NaN seed, dispose() during sample()", async () => {
  const tok = await Tokenizer.load(p("tok.safetensors"), { session: { threads: 1 } });
  const img = HostTensor.zeros("float32", [1, 1, 32, 32]);
  (img.data as Float32Array)[5] = NaN;
  await assert.rejects(tok.encode(img), (e: unknown) => e instanceof FeedError && /finite pixel values.*NaN in image 0 at flat index 5/.test(e.message));
  (img.data as Float32Array)[5] = 1e30;
  await assert.rejects(tok.encode(img), FeedError);
  await assert.rejects(tok.decode(HostTensor.zeros("int64", [0, 4, 4])), (e: unknown) => e instanceof FeedError && /at least one image/.test(e.message));
  const gen = await Generator.load(p("gen.safetensors"), { session: { threads: 1 } });
  await assert.rejects(gen.sample({ labels: [0], seed: NaN }), (e: unknown) => e instanceof FeedError && /seed/.test(e.message));
  const sampling = gen.sample({ labels: [0, 1], seed: 1, steps: 8 });
  await new Promise((r) => setTimeout(r, 0));
  await gen.dispose();
  await assert.rejects(sampling, (e: unknown) => e instanceof FeedError && /dispose\(\) during sampling/.test(e.message));
  await tok.dispose();
});

test("system errors become one line naming the path, with exit 3 (input) or 4 (runtime)", () => {
  const sys = (code: string, path: string) => Object.assign(new Error(`${code}: x, open '${path}'`), { code, path, syscall: "open" });
  const full = reportError("generate", sys("ENOSPC", "/data/out.png"));
  assert.equal(full.code, EXIT.runtime);
  assert.match(full.message, /^maskbit generate: open \/data\/out\.png: expected free space on the device, got disk full \(ENOSPC\)/);
  assert.equal(reportError("x", sys("EACCES", "/root/a")).code, EXIT.runtime);
  assert.equal(reportError("x", sys("ENOENT", "/nope")).code, EXIT.input);
  assert.match(reportError("x", sys("EISDIR", "/tmp")).message, /expected a file, got a directory/);
  assert.equal(reportError("x", new CheckpointError({ op: "writeSafetensors", scope: "/d/f", expected: "a writable file", got: "ENOSPC: no space left on device, write" })).code, EXIT.runtime);
  const bug = reportError("x", new TypeError("undefined is not a function"));
  assert.equal(bug.code, EXIT.internal);
  assert.match(bug.message, /MASKBIT_DEBUG=1/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
