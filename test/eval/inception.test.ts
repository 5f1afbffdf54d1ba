// The FID Inception-v3 with the `inception_fid` formula weights. The case itself (float64 graph,
// uint8 input, the case tolerance) is judged by src/golden/inception.ts (test/golden/golden.test.ts);
// here: the float32 graph fed float images in [0, 1] (a different path: in-graph x255 truncation,
// ORT's native float32 Conv) within the case's documented float32 tolerance, strict weight loading
// and the missing-file error.

import { test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { CheckpointError } from "../../src/engine/errors.js";
import { formulaWeights } from "../../src/io/golden.js";
import { InceptionExtractor, INCEPTION_OUTPUTS } from "../../src/eval/inception.js";
import { INCEPTION_GOLDEN_NAMES } from "../../src/golden/inception.js";
import { inceptionParamSpecs, inceptionWeightsFrom, loadInceptionWeights } from "../../src/eval/inception-weights.js";
import { assertGolden, goldenCase, tensor } from "./helpers.js";

const golden = goldenCase("inception_fid");
const weights = inceptionWeightsFrom(formulaWeights(golden.raw), "inception_fid formula weights");
// case.json: "a float32 implementation should use atol 1e-3, rtol 1e-3".
const FLOAT32_TOL = { atol: 1e-3, rtol: 1e-3 };

function firstImage(t: HostTensor): HostTensor {
  const per = t.size / t.shape[0]!;
  return HostTensor.f32(t.toNumbers().slice(0, per), t.shape.slice(1));
}

test("Inception float32 graph, unit-range float input: every output within the documented float32 tolerance", async () => {
  const images = tensor(golden, "images");
  const unit = HostTensor.f32(images.toNumbers().map((v) => v / 255), images.shape);
  const ex = await InceptionExtractor.create(weights, { dtype: "float32", height: 64, width: 64, input: "unit", outputs: INCEPTION_OUTPUTS });
  try {
    const t0 = performance.now();
    const out = await ex.run(unit);
    console.log(`# inception float32 (unit input), batch 2 at 64x64: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    for (const k of INCEPTION_OUTPUTS) {
      const got = k === "resized" ? firstImage(out.resized!) : out[k]!;
      assertGolden(golden, INCEPTION_GOLDEN_NAMES[k], got, FLOAT32_TOL);
    }
  } finally {
    await ex.dispose();
  }
});

test("Inception weights: 566 official keys, strict loading, num_batches_tracked optional", () => {
  const specs = inceptionParamSpecs();
  assert.equal(specs.length, 566);
  const official = (golden.raw.formula_weights as { key: string }[]).map((w) => w.key);
  assert.deepEqual(specs.map((s) => s.key).sort(), [...official].sort());
  const full = formulaWeights(golden.raw);
  const withoutNbt = new Map([...full].filter(([k]) => !k.endsWith("num_batches_tracked")));
  assert.equal(inceptionWeightsFrom(withoutNbt).size, 472);
  const broken = new Map(withoutNbt);
  broken.delete("Mixed_7c.branch_pool.conv.weight");
  broken.set("fc.weight", HostTensor.zeros("float32", [1000, 2048]));
  broken.set("aux_logits.fc.weight", HostTensor.zeros("float32", [2]));
  assert.throws(() => inceptionWeightsFrom(broken), (e: unknown) =>
    e instanceof CheckpointError && /missing Mixed_7c\.branch_pool\.conv\.weight/.test(e.got) && /fc\.weight: expected float32\[1008, 2048\]/.test(e.got) && /unexpected aux_logits/.test(e.got));
});

test("loadInceptionWeights without a file says how to pass one", () => {
  for (const path of [undefined, "/nonexistent/pt_inception.safetensors"]) {
    assert.throws(() => loadInceptionWeights(path), (e: unknown) => e instanceof CheckpointError && e.message.includes("no Inception weights: pass --inception <file>"));
  }
});
