import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { loadGoldenCase } from "../../../src/io/golden.js";
import {
  tokenizer10bit, tokenizer12bit, tokenizer14bit, tokenizer16bit, tokenizer18bit, vqganPlus10bit, vqganPlus12bit,
} from "../../../src/models/tokenizer/config.js";
import { buildTokenizerForward, countParameters, tokenizerParamSpecs } from "../../../src/models/tokenizer/forward.js";

const GOLDEN = join(import.meta.dirname, "../../../../shared/golden/tokenizer_k10");

// [probe] counts from the spec (section 2.4), and the golden case's 3,421,293 for hidden_channels 32.
for (const [name, c, expected] of [
  ["tokenizer10bit", tokenizer10bit, 54_469_005], ["tokenizer12bit", tokenizer12bit, 54_479_247], ["tokenizer14bit", tokenizer14bit, 54_489_489],
  ["tokenizer16bit", tokenizer16bit, 54_499_731], ["tokenizer18bit", tokenizer18bit, 54_509_973], ["vqganPlus10bit", vqganPlus10bit, 55_990_915],
  ["vqganPlus12bit", vqganPlus12bit, 55_007_683], ["golden tokenizer_k10 (hidden 32)", { ...tokenizer10bit, hiddenChannels: 32 }, 3_421_293],
] as const) {
  test(`parameter count ${name} = ${expected.toLocaleString("en")} (graph specs only, buffers excluded)`, () => {
    assert.equal(countParameters(c), expected);
  });
}

test("tokenizerParamSpecs: the official state dict's 177 keys, dtypes, shapes and order (golden weight_keys)", () => {
  const specs = tokenizerParamSpecs({ ...tokenizer10bit, hiddenChannels: 32 });
  const expected = loadGoldenCase(GOLDEN).weightKeys.map(([key, dtype, shape]) => [key, dtype, [...shape]]);
  assert.deepEqual(specs.map((s) => [s.key, s.dtype, [...s.shape]]), expected);
  assert.deepEqual(specs.filter((s) => !s.trainable).map((s) => s.key), ["quantize.bits_to_indices", "quantize.codebook"]);
});

test("buildTokenizerForward in eval mode builds no entropy graph (the losses are constant zeros)", () => {
  const g = new Graph();
  const f = buildTokenizerForward(g.input("x", "float32", [1, 3, 256, 256]), tokenizer10bit, { training: false });
  assert.equal(f.losses.entropyLoss.source.kind, "constant");
  assert.ok(!g.nodes.some((n) => n.op.name === "topK"), "no sort: the entropy is skipped");
  assert.deepEqual(f.xHat.shape, [1, 3, 256, 256]);
  assert.deepEqual(f.ids.shape, [1, 16, 16]);
});
