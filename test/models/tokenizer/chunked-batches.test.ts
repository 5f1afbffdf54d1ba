// Large batches run in chunks of SessionOptions.maxBatch images (default: 2^20 pixels per run), so
// memory is bounded by the chunk: the results equal one run over the whole batch, and only the
// chunk and remainder shapes are compiled.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { FeedError } from "../../../src/engine/errors.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { Tokenizer, MAX_PIXELS_PER_RUN } from "../../../src/models/tokenizer/tokenizer.js";
import { assertClose } from "../../engine/helpers.js";

const TOKENIZER = join(import.meta.dirname, "../../../models/fmnist/tokenizer.safetensors");
const TOL = { atol: 1e-5, rtol: 1e-4 };

function images(n: number): HostTensor {
  const data = new Float32Array(n * 32 * 32);
  for (let i = 0; i < data.length; i++) data[i] = (Math.sin(i * 0.37) * 0.5 + 0.5) * ((i >> 10) % 3 === 0 ? 1 : 0.6);
  return new HostTensor("float32", [n, 1, 32, 32], data);
}

test("encode / decode / reconstruct in chunks of maxBatch equal one run over the batch", async () => {
  const whole = await Tokenizer.load(TOKENIZER);
  const chunked = await Tokenizer.load(TOKENIZER, { session: { maxBatch: 3 } });
  try {
    const x = images(7);
    const a = await whole.encode(x, { returnPreQuant: true });
    const b = await chunked.encode(x, { returnPreQuant: true });
    assert.equal(chunked.sessionCount, 2, "chunks of 3 and the remainder of 1");
    assert.deepEqual(b.ids.shape, a.ids.shape);
    assert.deepEqual(b.ids.toNumbers(), a.ids.toNumbers());
    assertClose(b.latent, a.latent, TOL);
    assertClose(b.preQuant!, a.preQuant!, TOL);

    const da = await whole.decode(a.ids), db = await chunked.decode(a.ids);
    assert.deepEqual(db.shape, [7, 1, 32, 32]);
    assertClose(db, da, TOL);
    // [B, L] ids chunk the same way.
    assertClose(await chunked.decode(a.ids.reshape([7, a.ids.shape[1]! * a.ids.shape[2]!])), da, TOL);

    const ra = await whole.reconstruct(x), rb = await chunked.reconstruct(x);
    assert.deepEqual(rb.ids.toNumbers(), ra.ids.toNumbers());
    assertClose(rb.images, ra.images, TOL);

  } finally {
    await whole.dispose();
    await chunked.dispose();
  }
});

test("the default chunk is MAX_PIXELS_PER_RUN pixels: 1024 images of 32x32 are one run, 1025 are two", async () => {
  assert.equal(MAX_PIXELS_PER_RUN / (32 * 32), 1024);
  const tok = await Tokenizer.load(TOKENIZER);
  try {
    const { ids } = await tok.encode(images(1025));
    assert.deepEqual(ids.shape, [1025, 8, 8]);
    assert.equal(tok.sessionCount, 2, "1024 + 1");
    const last = await tok.encode(images(1025).rows(1024, 1));
    assert.deepEqual(last.ids.toNumbers(), ids.rows(1024, 1).toNumbers());
  } finally {
    await tok.dispose();
  }
});

test("maxBatch must be an integer >= 1", async () => {
  for (const bad of [0, -2, 1.5, Number.NaN, Infinity]) {
    await assert.rejects(Tokenizer.load(TOKENIZER, { session: { maxBatch: bad } }), (e: unknown) => e instanceof FeedError && /session\.maxBatch/.test(e.message), String(bad));
  }
});

test("HostTensor.rows is a view of the first axis; concatRows joins tensors of one dtype and trailing shape", () => {
  const t = new HostTensor("float32", [4, 2, 3], Float32Array.from({ length: 24 }, (_, i) => i));
  const mid = t.rows(1, 2);
  assert.deepEqual(mid.shape, [2, 2, 3]);
  assert.deepEqual(mid.toNumbers(), Array.from({ length: 12 }, (_, i) => i + 6));
  assert.equal(mid.data.buffer, t.data.buffer, "a view, not a copy");
  const joined = HostTensor.concatRows([t.rows(0, 1), t.rows(1, 3)]);
  assert.deepEqual(joined.shape, [4, 2, 3]);
  assert.deepEqual(joined.toNumbers(), t.toNumbers());
  const ids = HostTensor.i64([1, 2, 3, 4], [2, 2]);
  assert.deepEqual(HostTensor.concatRows([ids, ids]).toNumbers(), [1, 2, 3, 4, 1, 2, 3, 4]);
  assert.throws(() => HostTensor.concatRows([t, new HostTensor("float32", [1, 3, 2], new Float32Array(6))]), FeedError);
  assert.throws(() => HostTensor.concatRows([ids, new HostTensor("float32", [1, 2], new Float32Array(2))]), FeedError);
  assert.throws(() => HostTensor.concatRows([]), FeedError);
});
