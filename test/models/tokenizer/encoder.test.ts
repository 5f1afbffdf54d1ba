import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { ParamStore } from "../../../src/engine/params.js";
import { ShapeError } from "../../../src/engine/errors.js";
import { tokenizer10bit, type TokenizerConfig } from "../../../src/models/tokenizer/config.js";
import { encoder, encoderLevels } from "../../../src/models/tokenizer/encoder.js";
import { Rng, randu, runGraph } from "../../engine/helpers.js";

const keysOf = (g: Graph, prefix: string) => [...g.paramSpecs.keys()].filter((k) => k.startsWith(prefix));

test("encoder 10-bit levels: channels 128->128->128->256->256->512, down_conv on all but the last", () => {
  assert.deepEqual(encoderLevels(tokenizer10bit).map((l) => [l.inChannels, l.outChannels]), [[128, 128], [128, 128], [128, 256], [256, 256], [256, 512]]);
  const g = new Graph();
  const z = encoder(g.input("x", "float32", [1, 3, 256, 256]), tokenizer10bit);
  assert.deepEqual(z.shape, [1, 10, 16, 16]);
  assert.deepEqual(keysOf(g, "encoder.down").filter((k) => k.includes("down_conv.weight")), [0, 1, 2, 3].map((i) => `encoder.down.${i}.down_conv.weight`));
  assert.deepEqual(keysOf(g, "encoder.").filter((k) => k.includes("nin_shortcut")), ["encoder.down.2.res_blocks.0.nin_shortcut.weight", "encoder.down.4.res_blocks.0.nin_shortcut.weight"]);
  assert.equal(g.paramSpecs.get("encoder.conv_in.bias"), undefined, "conv_in has no bias");
  assert.deepEqual(g.paramSpecs.get("encoder.conv_out.bias")!.shape, [10]);
});

const small = (o: Partial<TokenizerConfig>): TokenizerConfig => ({ ...tokenizer10bit, hiddenChannels: 32, ...o });

for (const [label, cfg, input, latent] of [
  ["grayscale, 3 levels, average pooling", small({ numChannels: 1, channelMult: [1, 2, 2], numResolutions: 3, sampleWithConv: false, tokenSize: 6 }), [2, 1, 20, 12], [2, 6, 5, 3]],
  ["RGB, 5 levels, odd 33x47 input (TF-SAME rounds up)", small({ numResBlocks: 1, tokenSize: 3 }), [1, 3, 33, 47], [1, 3, 3, 3]],
] as const) {
  test(`encoder ${label}: x ${JSON.stringify(input)} -> z ${JSON.stringify(latent)}, runs`, async () => {
    const g = new Graph();
    const z = encoder(g.input("x", "float32", input), cfg);
    assert.deepEqual(z.shape, latent);
    if (!cfg.sampleWithConv) assert.deepEqual(keysOf(g, "encoder").filter((k) => k.includes("down_conv")), []);
    const out = await runGraph(g, { z }, { x: randu(new Rng(1), input) }, ParamStore.init(g.paramSpecs.values(), 2));
    assert.ok(out.z!.toNumbers().every(Number.isFinite));
  });
}

test("encoder rejects images whose channel count differs from the config", () => {
  const g = new Graph();
  assert.throws(() => encoder(g.input("x", "float32", [1, 1, 64, 64]), tokenizer10bit), (e: unknown) => e instanceof ShapeError && e.expected.includes("[B, 3, H, W]"));
});
