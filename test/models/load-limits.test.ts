// Reader limits reach the public API (Tokenizer.load / Generator.load `limits`), and a generator
// file's class names are bounded (count = numClasses, each at most MAX_CLASS_NAME_CHARS) before use.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CheckpointError, ConfigError } from "../../src/engine/errors.js";
import { readSafetensors, writeSafetensors } from "../../src/io/safetensors.js";
import { CLASS_NAMES_METADATA_KEY, Generator, MAX_CLASS_NAME_CHARS } from "../../src/models/generator/generator.js";
import { generator10bit, validateGeneratorConfig } from "../../src/models/generator/config.js";
import { Tokenizer } from "../../src/models/tokenizer/tokenizer.js";
import { tokenizer10bit } from "../../src/models/tokenizer/config.js";

const dir = mkdtempSync(join(tmpdir(), "maskbit-load-limits-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const tokCfg = { ...tokenizer10bit, numChannels: 1, hiddenChannels: 32, channelMult: [1, 1, 2, 2], numResolutions: 4 };
const genCfg = validateGeneratorConfig({ ...generator10bit, hiddenDim: 32, depth: 1, heads: 2, mlpDim: 64, numClasses: 3, tokenGrid: 4 });
const tokPath = join(dir, "tok.safetensors"), genPath = join(dir, "gen.safetensors");
Tokenizer.random(tokCfg, 1).save(tokPath);
Generator.random(genCfg, 2, {}, ["a", "b", "c"]).save(genPath);

test("Tokenizer.load passes limits to the safetensors reader: a tiny maxTensors is refused with its clear error", async () => {
  const bytes = new Uint8Array(readFileSync(tokPath));
  await assert.rejects(Tokenizer.load(bytes, { limits: { maxTensors: 3 } }), (e: unknown) => {
    assert.ok(e instanceof CheckpointError, String(e));
    assert.match(e.message, /readSafetensors/);
    assert.match(e.message, /maxTensors = 3/);
    return true;
  });
  await assert.rejects(Tokenizer.load(tokPath, { limits: { maxHeaderBytes: 64 } }), /maxHeaderBytes = 64/);
  // The default limits (and generous ones) load the same file.
  const tok = await Tokenizer.load(bytes, { limits: { maxTensors: 10_000 } });
  assert.equal(tok.config.numChannels, 1);
  await tok.dispose();
});

test("Generator.load passes limits too", async () => {
  await assert.rejects(Generator.load(genPath, { limits: { maxMetadataValueChars: 4 } }), (e: unknown) => e instanceof CheckpointError && /maxMetadataValueChars = 4/.test(e.message));
  const gen = await Generator.load(genPath, { limits: { maxTensors: 10_000 } });
  assert.deepEqual(gen.classNames, ["a", "b", "c"]);
  await gen.dispose();
});

/** The generator file with its class names replaced by `json`. */
function withClassNames(name: string, json: string): string {
  const file = readSafetensors(genPath);
  const out = join(dir, name);
  writeSafetensors(out, file.tensors, { ...file.metadata, [CLASS_NAMES_METADATA_KEY]: json });
  return out;
}

test("class names: a 300,000-character name ends in a clear error (by the reader's limit, or by the name bound when that limit is raised)", async () => {
  const huge = withClassNames("huge.safetensors", JSON.stringify(["a", "x".repeat(300_000), "c"]));
  await assert.rejects(Generator.load(huge), (e: unknown) => e instanceof CheckpointError && /maxMetadataValueChars/.test(e.message));
  await assert.rejects(Generator.load(huge, { limits: { maxMetadataValueChars: 1 << 20 } }), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(e.message, /class_names/);
    assert.match(e.message, new RegExp(`at most ${MAX_CLASS_NAME_CHARS} characters`));
    assert.ok(e.message.length < 600, "the message does not echo the name");
    return true;
  });
});

test("class names: one name over the bound, and a count other than numClasses, are refused naming the field", async () => {
  const long = withClassNames("long.safetensors", JSON.stringify(["a", "y".repeat(MAX_CLASS_NAME_CHARS + 1), "c"]));
  await assert.rejects(Generator.load(long), /class_names\[1\]\): expected a class name of at most 200 characters, got 201 characters/);
  const edge = withClassNames("edge.safetensors", JSON.stringify(["a", "y".repeat(MAX_CLASS_NAME_CHARS), "c"]));
  const g = await Generator.load(edge);
  assert.equal(g.classNames![1]!.length, MAX_CLASS_NAME_CHARS);
  await g.dispose();
  for (const names of [["a", "b"], ["a", "b", "c", "d"]]) {
    const p = withClassNames(`count${names.length}.safetensors`, JSON.stringify(names));
    await assert.rejects(Generator.load(p), new RegExp(`expected 3 class names \\(numClasses\\), got ${names.length}`));
  }
  const notList = withClassNames("notlist.safetensors", '{"a": 1}');
  await assert.rejects(Generator.load(notList), /a JSON list of strings/);
});
