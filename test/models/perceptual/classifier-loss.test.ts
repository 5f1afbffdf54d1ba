import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { CompiledGraph } from "../../../src/engine/runtime/session.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { grad } from "../../../src/engine/autodiff/grad.js";
import { ConfigError, ShapeError } from "../../../src/engine/errors.js";
import { classifierLoss } from "../../../src/models/perceptual/classifier-loss.js";

const LOGITS = [2, 0, -1, 0.5, 1.5, 0.2];
const LABELS = [0, 2];

/** (1 - eps) * NLL + eps * mean_k(-log p_k), averaged over rows, in float64. */
function reference(eps: number): number {
  let total = 0;
  for (let r = 0; r < 2; r++) {
    const row = LOGITS.slice(3 * r, 3 * r + 3);
    const lse = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
    const logp = row.map((v) => v - lse);
    total += (1 - eps) * -logp[LABELS[r]!]! + eps * -logp.reduce((s, v) => s + v, 0) / 3;
  }
  return total / 2;
}

for (const eps of [0, 0.1]) {
  test(`classifierLoss logits=[2,3] labels=[0,2] smoothing=${eps}: matches the float64 formula; accuracy 0.5`, async () => {
    const g = new Graph();
    const logits = g.input("logits", "float32", [2, 3]);
    const { loss, accuracy } = classifierLoss(logits, g.input("labels", "int64", [2]), eps);
    const [dl] = grad(loss, [logits]);
    const c = await CompiledGraph.create(g, { loss, accuracy, dl: dl! }, { threads: 1 });
    const out = await c.run({ logits: HostTensor.f32(LOGITS, [2, 3]), labels: HostTensor.i64(LABELS) });
    await c.dispose();
    assert.ok(Math.abs(out.loss!.at(0) - reference(eps)) < 1e-6, `${out.loss!.at(0)} vs ${reference(eps)}`);
    assert.equal(out.accuracy!.at(0), 0.5, "row 0 argmax 0 = label; row 1 argmax 1 != label 2");
    // d loss / d logits = (softmax - smoothed one-hot) / B: each row sums to 0.
    const d = out.dl!.toNumbers();
    for (const r of [0, 1]) assert.ok(Math.abs(d[3 * r]! + d[3 * r + 1]! + d[3 * r + 2]!) < 1e-6);
  });
}

test("classifierLoss rejects float labels, mismatched batch and smoothing outside [0, 1)", () => {
  const g = new Graph();
  const logits = g.input("logits", "float32", [2, 3]);
  assert.throws(() => classifierLoss(logits, g.input("f", "float32", [2])), ShapeError);
  assert.throws(() => classifierLoss(logits, g.input("l3", "int64", [3])), ShapeError);
  assert.throws(() => classifierLoss(logits, g.input("l", "int64", [2]), 1), ConfigError);
});
