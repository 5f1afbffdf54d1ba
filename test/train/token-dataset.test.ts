// Batches over pre-tokenized ids: every row once per epoch, a fresh order each epoch, and a saved
// position continues the same sequence.

import { test } from "node:test";
import assert from "node:assert/strict";
import { TokenBatches, type TokenDataset } from "../../src/train/token-dataset.js";

function dataset(count: number, seqLen: number): TokenDataset {
  const ids = BigInt64Array.from({ length: count * seqLen }, (_, i) => BigInt(Math.floor(i / seqLen)));
  return { ids, labels: BigInt64Array.from({ length: count }, (_, i) => BigInt(i % 10)), count, seqLen };
}

const rows = (b: { ids: { data: unknown } }, seqLen: number): number[] => {
  const d = b.ids.data as BigInt64Array;
  return Array.from({ length: d.length / seqLen }, (_, i) => Number(d[i * seqLen]));
};

test("TokenBatches: each epoch visits distinct rows in a new order; labels follow their rows", () => {
  const data = dataset(10, 3);
  const b = new TokenBatches(data, 4, 1);
  const epoch0 = [...rows(b.next(), 3), ...rows(b.next(), 3)];
  assert.equal(new Set(epoch0).size, 8);
  const batch = b.next(); // 2 rows left < 4: a new epoch starts
  assert.deepEqual(b.state, { epoch: 1, index: 4 });
  assert.deepEqual(Array.from(batch.labels.data as BigInt64Array, Number), rows(batch, 3).map((r) => r % 10));
  assert.notDeepEqual(rows(batch, 3), epoch0.slice(0, 4));
});

test("TokenBatches: restoring a saved position continues the identical sequence", () => {
  const data = dataset(37, 2);
  const a = new TokenBatches(data, 5, 9);
  for (let i = 0; i < 11; i++) a.next();
  const saved = a.state;
  const expected = Array.from({ length: 9 }, () => rows(a.next(), 2));
  const b = new TokenBatches(data, 5, 9);
  b.restore(saved);
  assert.deepEqual(Array.from({ length: 9 }, () => rows(b.next(), 2)), expected);
  assert.throws(() => b.restore({ epoch: -1, index: 0 }));
  assert.throws(() => new TokenBatches(dataset(3, 2), 4, 0));
});
