// `maskbit convert` both ways on the shipped Fashion-MNIST models: safetensors -> official .bin ->
// safetensors gives back every tensor bit for bit and the same config; the .bin reads with the
// torch.save reader under official key names. Plus the usage errors.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { convert } from "../../src/cli/commands/convert.js";
import { readSafetensors } from "../../src/io/safetensors.js";
import { readTorchCheckpoint } from "../../src/io/torch-checkpoint.js";
import { ConfigError } from "../../src/engine/errors.js";
import { tempDir } from "../train/helpers.js";

const MODELS = join(import.meta.dirname, "../../models/fmnist");

for (const stage of ["tokenizer", "generator"] as const) {
  test(`convert models/fmnist/${stage}.safetensors -> .bin -> .safetensors is lossless`, async () => {
    const dir = tempDir("convert");
    const src = join(MODELS, `${stage}.safetensors`), bin = join(dir, `${stage}.bin`), back = join(dir, `${stage}.safetensors`);
    assert.equal(await convert.run([src, bin]), 0);
    const torch = readTorchCheckpoint(bin);
    const original = readSafetensors(src);
    if (stage === "generator") {
      assert.ok(torch.has("token_emb.weight") && !torch.has("input_proj.weight"), "official generator key names");
    }
    assert.equal(torch.size, original.tensors.size);
    assert.equal(await convert.run([bin, back, "--config", `${bin}.config.json`]), 0);
    const restored = readSafetensors(back);
    assert.equal(restored.metadata.config, original.metadata.config, "same config");
    assert.deepEqual([...restored.tensors.keys()].sort(), [...original.tensors.keys()].sort());
    for (const [k, t] of original.tensors) {
      const r = restored.tensors.get(k)!;
      assert.deepEqual(r.shape, t.shape, k);
      assert.deepEqual(r.data, t.data, k);
    }
  });
}

test("convert refuses a .bin without --config, two files of one format, and a bad --kind", async () => {
  const dir = tempDir("convert");
  const bin = join(dir, "t.bin");
  await convert.run([join(MODELS, "tokenizer.safetensors"), bin]);
  await assert.rejects(convert.run([bin, join(dir, "t.safetensors")]), (e: unknown) => e instanceof ConfigError && /--config/.test(e.expected));
  await assert.rejects(convert.run([join(MODELS, "tokenizer.safetensors"), join(dir, "x.safetensors")]), ConfigError);
  await assert.rejects(convert.run([bin, join(dir, "x.safetensors"), "--config", `${bin}.config.json`, "--kind", "vae"]), ConfigError);
  // The wrong stage for the weights fails in the strict loader, not later.
  await assert.rejects(convert.run([bin, join(dir, "x.safetensors"), "--config", `${bin}.config.json`, "--kind", "generator"]));
});
