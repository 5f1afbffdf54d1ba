// The FID/IS pipeline end to end on tiny image sets with the inception_fid formula weights: the
// distance of a set to itself, agreement between on-the-fly and reference-statistics modes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { formulaWeights } from "../../src/io/golden.js";
import { FidEvaluator } from "../../src/eval/fid.js";
import { inceptionWeightsFrom } from "../../src/eval/inception-weights.js";
import { goldenCase, Rng } from "./helpers.js";

const weights = inceptionWeightsFrom(formulaWeights(goldenCase("inception_fid").raw));

function randomImages(rng: Rng, n: number): HostTensor {
  return new HostTensor("uint8", [n, 3, 32, 32], Uint8Array.from({ length: n * 3 * 32 * 32 }, () => Math.floor(rng.uniform() * 256)));
}

test("FidEvaluator: a set against itself scores ~0 (eps offset: 3 samples in 2048-d); IS from the fake logits", async () => {
  const rng = new Rng(21);
  const a = randomImages(rng, 3);
  const ev = await FidEvaluator.create({ weights, height: 32, width: 32 });
  try {
    await ev.addReal(a);
    await ev.addFake(a);
    assert.equal(ev.realStats.count, 3);
    // One 2048-d distance only: with the offset, each takes seconds.
    const same = await ev.result(await ev.realStats.gaussian());
    assert.equal(same.frechet.offsetApplied, true);
    // tr(s) + tr(s) - 2 tr(s + eps I) = -2 * 2048 * eps.
    assert.ok(Math.abs(same.frechet.fid + 2 * 2048 * 1e-6) < 1e-6, `fid ${same.frechet.fid}`);
    assert.ok(same.inceptionScore.mean >= 1 && Number.isFinite(same.inceptionScore.mean));
    await assert.rejects(FidEvaluator.create({ weights, height: 32, width: 32 }).then(async (e) => {
      try { return await e.result(); } finally { await e.dispose(); }
    }), /at least 2 real images/);
  } finally {
    await ev.dispose();
  }
});
