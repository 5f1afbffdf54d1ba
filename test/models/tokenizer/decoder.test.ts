import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { ParamStore } from "../../../src/engine/params.js";
import { ShapeError } from "../../../src/engine/errors.js";
import { tokenizer10bit } from "../../../src/models/tokenizer/config.js";
import { decoder, decoderLevels } from "../../../src/models/tokenizer/decoder.js";
import { Rng, randn, runGraph } from "../../engine/helpers.js";

test("decoder 10-bit: up.0 is the deepest 512-ch level, up.4 the full-resolution one without upsample_conv", () => {
  assert.deepEqual(decoderLevels(tokenizer10bit).map((l) => [l.inChannels, l.outChannels, l.upsample]),
    [[512, 512, true], [512, 256, true], [256, 256, true], [256, 128, true], [128, 128, false]]);
  const g = new Graph();
  const x = decoder(g.input("z", "float32", [1, 10, 16, 16]), tokenizer10bit);
  assert.deepEqual(x.shape, [1, 3, 256, 256]);
  const specs = g.paramSpecs;
  assert.deepEqual(specs.get("decoder.up.0.upsample_conv.weight")!.shape, [512, 512, 3, 3]);
  assert.equal(specs.get("decoder.up.4.upsample_conv.weight"), undefined);
  assert.deepEqual(specs.get("decoder.up.1.res_blocks.0.nin_shortcut.weight")!.shape, [256, 256, 1, 1]);
  assert.deepEqual(specs.get("decoder.conv_in.bias")!.shape, [512], "decoder conv_in has a bias, unlike the encoder's");
  assert.deepEqual(specs.get("decoder.conv_out.weight")!.shape, [3, 128, 3, 3]);
});

test("decoder num_res_blocks_decoder = 3 (encoder keeps 2): grayscale 3-level config runs, x2 per upsampling level", async () => {
  const cfg = { ...tokenizer10bit, hiddenChannels: 32, numChannels: 1, channelMult: [1, 2, 2], numResolutions: 3, numResBlocksDecoder: 3, tokenSize: 4 };
  const g = new Graph();
  const x = decoder(g.input("z", "float32", [2, 4, 3, 5]), cfg);
  assert.deepEqual(x.shape, [2, 1, 12, 20]);
  assert.ok(g.paramSpecs.has("decoder.up.2.res_blocks.2.conv2.weight"));
  assert.ok(g.paramSpecs.has("decoder.mid.res_blocks.2.conv1.weight"));
  const out = await runGraph(g, { x }, { z: randn(new Rng(3), [2, 4, 3, 5]) }, ParamStore.init(g.paramSpecs.values(), 4));
  assert.ok(out.x!.toNumbers().every(Number.isFinite));
});

test("decoder rejects latents whose channel count is not token_size", () => {
  const g = new Graph();
  assert.throws(() => decoder(g.input("z", "float32", [1, 12, 16, 16]), tokenizer10bit), ShapeError);
});
