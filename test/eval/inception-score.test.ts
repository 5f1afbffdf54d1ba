// Inception Score: closed-form cases, a plain float64 reference with splits, streaming
// independence from batch boundaries, and the eps conventions of spec 4.1 / 4.2.

import { test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { FeedError } from "../../src/engine/errors.js";
import { GENERATION_IS, InceptionScore, RECONSTRUCTION_IS, type InceptionScoreOptions } from "../../src/eval/inception-score.js";
import { Rng } from "./helpers.js";

/** Direct transcription of the definition (per split: exp(mean KL(p || pbar))), in float64. */
function referenceIs(logits: number[][], o: InceptionScoreOptions): number[] {
  const probs = logits.map((row) => {
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
  const plogq = (p: number, q: number) => (o.eps > 0 ? p * Math.log(q + o.eps) : p > 0 ? p * Math.log(q) : 0);
  const scores: number[] = [];
  for (let s = 0; s < probs.length; s += Math.min(o.splitSize, probs.length)) {
    const part = probs.slice(s, s + o.splitSize);
    const c = part[0]!.length;
    const pbar = Array.from({ length: c }, (_, y) => part.reduce((a, p) => a + p[y]!, 0) / part.length);
    const kl = part.reduce((a, p) => a + p.reduce((b, py, y) => b + plogq(py, py) - plogq(py, pbar[y]!), 0), 0) / part.length;
    scores.push(Math.exp(kl));
  }
  return scores;
}

async function score(logits: number[][], o: InceptionScoreOptions, batch: number) {
  const c = logits[0]!.length;
  const is = new InceptionScore(c, o);
  for (let i = 0; i < logits.length; i += batch) {
    const rows = logits.slice(i, i + batch);
    await is.add(HostTensor.f32(rows.flat(), [rows.length, c]));
  }
  const r = await is.result();
  await is.dispose();
  return r;
}

test("IS closed forms: identical predictions give 1, confident distinct classes give #classes", async () => {
  const flat = Array.from({ length: 20 }, () => [0.3, -1, 2, 0.5]);
  assert.ok(Math.abs((await score(flat, RECONSTRUCTION_IS, 7)).mean - 1) < 1e-12);
  const confident = Array.from({ length: 40 }, (_, i) => Array.from({ length: 8 }, (_, y) => (y === i % 8 ? 60 : 0)));
  assert.ok(Math.abs((await score(confident, RECONSTRUCTION_IS, 16)).mean - 8) < 1e-9);
});

test("IS matches a float64 reference with splits (shorter last split), any batch boundaries", async () => {
  const rng = new Rng(9);
  const logits = Array.from({ length: 53 }, () => Array.from({ length: 12 }, () => Math.fround(rng.normal() * 3)));
  for (const o of [{ splitSize: 10, eps: 0 }, { splitSize: 53, eps: 1e-16 }, GENERATION_IS] as const) {
    const want = referenceIs(logits, o);
    for (const batch of [1, 8, 53]) {
      const got = await score(logits, o, batch);
      assert.equal(got.perSplit.length, want.length, `splits for ${JSON.stringify(o)}`);
      want.forEach((w, i) => assert.ok(Math.abs(got.perSplit[i]! - w) < 1e-12 * w, `split ${i}: ${got.perSplit[i]} vs ${w}`));
      const mean = want.reduce((a, b) => a + b, 0) / want.length;
      const std = Math.sqrt(want.reduce((a, b) => a + (b - mean) ** 2, 0) / want.length);
      assert.ok(Math.abs(got.mean - mean) < 1e-12 * mean && Math.abs(got.std - std) < 1e-9 * Math.max(std, 1));
    }
  }
});

test("IS with eps 0 treats 0 log 0 as 0 (float64 softmax underflow)", async () => {
  const logits = [[0, -800, 0], [0, 0, -800], [-800, 0, 0]];
  const r = await score(logits, GENERATION_IS, 3);
  assert.ok(Number.isFinite(r.mean) && Math.abs(r.mean - referenceIs(logits, GENERATION_IS)[0]!) < 1e-12);
});

test("InceptionScore rejects malformed input", async () => {
  const is = new InceptionScore(1008);
  await assert.rejects(is.add(HostTensor.f32(new Float32Array(10), [1, 10])), (e: unknown) => e instanceof FeedError && /\[B, 1008\]/.test(e.message));
  await assert.rejects(is.result(), /at least one sample/);
  assert.throws(() => new InceptionScore(10, { splitSize: 0, eps: 0 }), /splitSize >= 1/);
});
