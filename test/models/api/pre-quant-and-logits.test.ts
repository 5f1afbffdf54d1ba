// The public API's inspection outputs: Tokenizer.encode(images, { returnPreQuant: true }) returns
// the encoder's continuous z (whose signs are exactly the LFQ bits), and Generator.logits matches
// the official module's logits on the golden generator case (ids + mask rebuilt from its group
// tokens, conditional and label-dropped rows both).

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { FeedError } from "../../../src/engine/errors.js";
import { Tokenizer } from "../../../src/models/tokenizer/tokenizer.js";
import { Generator } from "../../../src/models/generator/generator.js";
import { loadGoldenCase } from "../../../src/io/golden.js";
import { readSafetensors } from "../../../src/io/safetensors.js";
import { generatorConfigFromCase } from "../../../src/golden/generator-config.js";
import { Rng } from "../../../src/engine/rng.js";
import { expectGolden } from "../expect-golden.js";

const ROOT = join(import.meta.dirname, "../../..");
const GOLDEN = join(ROOT, "../shared/golden");

test("Tokenizer.encode returnPreQuant: z [B, D, h, w] whose signs are the LFQ bits; ids unchanged", async () => {
  const tok = await Tokenizer.load(join(ROOT, "models/fmnist/tokenizer.safetensors"));
  try {
    const rng = new Rng(5);
    const s = 32, c = tok.config.numChannels;
    const images = HostTensor.f32(Array.from({ length: 2 * c * s * s }, () => rng.uniform()), [2, c, s, s]);
    const plain = await tok.encode(images);
    const withZ = await tok.encode(images, { returnPreQuant: true });
    assert.equal(plain.preQuant, undefined);
    const z = withZ.preQuant!;
    assert.deepEqual(z.shape, plain.latent.shape, "z has the latent's shape");
    assert.deepEqual(withZ.ids.data, plain.ids.data);
    const zs = z.data as Float32Array, bits = withZ.bits!.data as Float32Array;
    assert.ok(zs.some((v) => Math.abs(v) !== 1), "z is continuous, not the quantized bits");
    for (let i = 0; i < zs.length; i++) assert.equal(zs[i]! > 0 ? 1 : -1, bits[i], `sign of z at ${i}`);
  } finally {
    await tok.dispose();
  }
});

test("Generator.logits equals the official logits of golden generator_k10", async () => {
  const c = loadGoldenCase(join(GOLDEN, "generator_k10"));
  const config = generatorConfigFromCase(c.config);
  const gen = await Generator.load({ config, params: readSafetensors(join(GOLDEN, "generator_k10/weights.safetensors")).tensors });
  try {
    const tokens = c.tensors.get("tokens")!, drop = c.tensors.get("drop_label_mask")!;
    const [b, l, n] = tokens.shape as [number, number, number];
    const bits = config.tokenBits / n, maskToken = 2 ** bits;
    const ids = new BigInt64Array(b * l), mask = new Uint8Array(b * l * n);
    const t = tokens.data as BigInt64Array;
    for (let i = 0; i < b * l; i++) {
      for (let g = 0; g < n; g++) {
        const v = Number(t[i * n + g]!);
        if (v === maskToken) mask[i * n + g] = 1;
        else ids[i] = ids[i]! + BigInt(v * 2 ** (g * bits));
      }
    }
    assert.ok(mask.some((m) => m === 1) && mask.some((m) => m === 0), "the case masks some slots");
    const labels = Array.from(c.tensors.get("labels")!.data as BigInt64Array, Number);
    const req = { ids: new HostTensor("int64", [b, l], ids), labels, mask: new HostTensor("bool", [b, l, n], mask) };
    const cond = await gen.logits(req), uncond = await gen.logits({ ...req, unconditional: true });
    assert.deepEqual(cond.shape, [b, l, n, maskToken]);
    const rowSize = l * n * maskToken;
    const merged = new Float32Array(b * rowSize);
    const dropped = Array.from(drop.data as BigInt64Array, (v) => v !== 0n);
    for (let i = 0; i < b; i++) merged.set((dropped[i] ? uncond : cond).data.subarray(i * rowSize, (i + 1) * rowSize) as Float32Array, i * rowSize);
    expectGolden(c, "logits", new HostTensor("float32", cond.shape, merged));
    await assert.rejects(gen.logits({ ...req, labels: labels.map(() => config.numClasses) }), FeedError);
    await assert.rejects(gen.logits({ ...req, ids: new HostTensor("int64", [b, l], new BigInt64Array(b * l).fill(2n ** BigInt(config.tokenBits))) }), FeedError);
  } finally {
    await gen.dispose();
  }
});
