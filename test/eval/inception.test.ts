// The FID Inception-v3 against the `inception_fid` golden case (formula weights; the reference
// ran in float64): every listed output in float64 at the case tolerance, and the float32 graph at
// the case's documented float32 tolerance. Plus strict weight loading and the missing-file error.

import { test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { CheckpointError } from "../../src/engine/errors.js";
import { formulaWeights } from "../../src/io/golden.js";
import { InceptionExtractor, INCEPTION_OUTPUTS, type InceptionOutput } from "../../src/eval/inception.js";
import { inceptionParamSpecs, inceptionWeightsFrom, loadInceptionWeights } from "../../src/eval/inception-weights.js";
import { assertGolden, goldenCase, tensor } from "./helpers.js";

const golden = goldenCase("inception_fid");
const weights = inceptionWeightsFrom(formulaWeights(golden.raw), "inception_fid formula weights");
const GOLDEN_NAME: Record<Exclude<InceptionOutput, "resized">, string> = {
  feat64: "feat_64", feat192: "feat_192", feat768: "feat_768", pool2048: "pool_2048", logitsUnbiased: "logits_unbiased", logits: "logits",
};
// case.json: "a float32 implementation should use atol 1e-3, rtol 1e-3".
const FLOAT32_TOL = { atol: 1e-3, rtol: 1e-3 };

function firstImage(t: HostTensor): HostTensor {
  const per = t.size / t.shape[0]!;
  return HostTensor.f32(t.toNumbers().slice(0, per), t.shape.slice(1));
}

function asFloat64(t: HostTensor): HostTensor {
  return t.dtype === "float64" ? t : HostTensor.f64(t.toNumbers(), t.shape);
}

async function checkAll(dtype: "float32" | "float64", input: "uint8" | "unit"): Promise<void> {
  const images = tensor(golden, input === "uint8" ? "images_u8" : "images");
  const unit = input === "unit" ? HostTensor.f32(images.toNumbers().map((v) => v / 255), images.shape) : images;
  const ex = await InceptionExtractor.create(weights, { dtype, height: 64, width: 64, input, outputs: INCEPTION_OUTPUTS });
  try {
    const t0 = performance.now();
    const out = await ex.run(unit);
    console.log(`# inception ${dtype} (${input} input), batch 2 at 64x64: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    const tol = dtype === "float64" ? undefined : FLOAT32_TOL;
    assertGolden(golden, "resized_299_0", firstImage(out.resized!), tol);
    for (const [ours, theirs] of Object.entries(GOLDEN_NAME)) assertGolden(golden, theirs, asFloat64(out[ours as InceptionOutput]!), tol);
  } finally {
    await ex.dispose();
  }
}

test("inception_fid golden in float64: resized_299_0, feat_64/192/768, pool_2048, logits_unbiased, logits", async () => {
  await checkAll("float64", "uint8");
});

test("inception_fid golden in float32 (documented float32 tolerance), unit-range float input", async () => {
  await checkAll("float32", "unit");
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
