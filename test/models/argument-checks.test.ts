// Wrong kinds of values from JavaScript callers reach the public entry points as FeedErrors that
// say what was expected and what came (never a TypeError from inside), for the shipped models.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, FeedError, describeArgument } from "../../src/engine/errors.js";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { Tokenizer } from "../../src/models/tokenizer/tokenizer.js";
import { Generator } from "../../src/models/generator/generator.js";

const MODELS = join(fileURLToPath(new URL(".", import.meta.url)), "../../models/fmnist");

/** Rejects with a FeedError whose message contains every fragment. */
async function rejectsWith(run: () => Promise<unknown>, ...fragments: string[]): Promise<void> {
  await assert.rejects(run, (e: unknown) => {
    assert.ok(e instanceof FeedError, `a FeedError, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    for (const f of fragments) assert.ok(e.message.includes(f), `"${f}" in: ${e.message}`);
    return true;
  });
}

test("describeArgument names tensors by dtype and shape and everything else by kind", () => {
  assert.equal(describeArgument(HostTensor.zeros("int64", [1, 8, 8])), "int64[1, 8, 8]");
  assert.equal(describeArgument(undefined), "undefined");
  assert.equal(describeArgument(null), "null");
  assert.equal(describeArgument(new Float32Array(4)), "a Float32Array of 4 values");
  assert.equal(describeArgument([[1]]), "an array of 1");
  assert.equal(describeArgument({}), "an empty object");
  assert.equal(describeArgument({ ids: 1, bits: 2 }), "an object with ids, bits");
  assert.equal(describeArgument("x"), 'the string "x"');
  assert.equal(describeArgument(3), "number 3");
});

describe("public entry points refuse wrong kinds of arguments", () => {
  let tok: Tokenizer, gen: Generator, ids: HostTensor, encoded: object;
  before(async () => {
    tok = await Tokenizer.load(join(MODELS, "tokenizer.safetensors"), { session: { threads: 1 } });
    gen = await Generator.load(join(MODELS, "generator.safetensors"), { session: { threads: 1 } });
    encoded = await tok.encode(HostTensor.zeros("float32", [1, 1, 32, 32]));
    ids = (encoded as { ids: HostTensor }).ids;
  });
  after(async () => {
    await tok.dispose();
    await gen.dispose();
  });

  test("Tokenizer.decode and reconstruct: an encode() result gets a hint to pass its ids; arrays and undefined say what they are", async () => {
    await rejectsWith(() => tok.decode(encoded as never), "Tokenizer.decode (ids)", "a HostTensor", "an object with ids", "hint: pass its .ids");
    await rejectsWith(() => tok.decode(undefined as never), "got undefined");
    await rejectsWith(() => tok.decode(new Float32Array(64) as never), "a Float32Array of 64 values");
    await rejectsWith(() => tok.reconstruct(new Float32Array(64) as never), "Tokenizer.reconstruct (images)", "float32[B, 1, H, W]");
  });

  test("Generator.sample, complete, outpaint and logits: missing options, labels that are not an array, tensors that are not tensors", async () => {
    await rejectsWith(() => (gen.sample as (o?: unknown) => Promise<unknown>)(), "Generator.sample", "got undefined");
    await rejectsWith(() => gen.sample({ labels: "x" as never }), "Generator.sample (labels)", 'the string "x"');
    await rejectsWith(() => gen.complete({ ids: [[1]] as never, mask: ids, labels: [0] }), "Generator.complete (ids)", "an array of 1");
    await rejectsWith(() => gen.complete({ ids: encoded as never, mask: ids, labels: [0] }), "hint: pass its .ids");
    await rejectsWith(() => gen.complete({ ids, labels: [0] } as never), "Generator.complete (mask)", "got undefined");
    await rejectsWith(() => gen.outpaint({ ids, labels: [0] } as never), "Generator.outpaint", "pad {", "got undefined");
    await rejectsWith(() => gen.outpaint({ ids: 3 as never, labels: [0], pad: { left: 1 } }), "Generator.outpaint (ids)", "number 3");
    await rejectsWith(() => gen.logits({} as never), "Generator.logits (labels)");
    await rejectsWith(() => gen.logits({ ids: encoded as never, labels: [0] }), "Generator.logits (ids)", "hint: pass its .ids");
    await rejectsWith(() => gen.logits({ ids, labels: [0], mask: [1] as never }), "Generator.logits (mask)", "an array of 1");
  });

  test("a million labels are refused before anything is allocated, with a hint to draw in batches", async () => {
    const many = new Array<number>(1_000_000).fill(0);
    await rejectsWith(() => gen.sample({ labels: many, seed: 0 }), "Generator.sample (labels)", "at most 4096 labels per call", "got 1000000", "hint: draw larger sets in batches");
    await rejectsWith(() => gen.logits({ ids, labels: many }), "Generator.logits (labels)", "at most 4096");
    await rejectsWith(() => gen.complete({ ids, mask: ids, labels: many } as never), "Generator.complete (labels)", "at most 4096");
  });

  test("hooks: onStep must be a function, tokenizer must have decode(), signal must be an AbortSignal", async () => {
    await rejectsWith(() => gen.sample({ labels: [0], onStep: 3 as never }), "Generator.sample (onStep)", "a function", "number 3");
    await rejectsWith(() => gen.sample({ labels: [0], tokenizer: {} as never }), "Generator.sample (tokenizer)", "decode(ids)", "an empty object");
    await rejectsWith(() => gen.complete({ ids, mask: ids, labels: [0], signal: true as never }), "Generator.complete (signal)", "an AbortSignal");
    await rejectsWith(() => gen.outpaint({ ids, labels: [0], pad: { left: 1 }, onWindow: "x" as never }), "Generator.outpaint (onWindow)", 'the string "x"');
  });

  test("a sampling schedule of a billion steps is refused before it runs; NaN reads as NaN", async () => {
    await assert.rejects(() => gen.sample({ labels: [0], steps: 1e9 }), (e: unknown) => e instanceof ConfigError && e.message.includes("at most 4096") && e.message.includes("got 1000000000"));
    await assert.rejects(() => gen.sample({ labels: [0], guidanceScale: Number.NaN }), (e: unknown) => e instanceof ConfigError && e.message.includes("got NaN"));
  });

  test("loading from something that is not a path, URL, Response, Blob or bytes says what it was", async () => {
    for (const [source, got] of [[undefined, "got undefined"], [123, "got number 123"], [{}, "got an empty object"]] as const) {
      await assert.rejects(() => Tokenizer.load(source as never), (e: unknown) => e instanceof FeedError && e.message.includes("a file path, URL, Response, Blob, ArrayBuffer or Uint8Array") && e.message.includes(got));
    }
  });
});
