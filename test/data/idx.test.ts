// IDX reading: small files written here (gzipped and plain, every dtype), corrupt files, and the
// Fashion-MNIST files (the committed subset of the Debian package dataset-fashion-mnist's files).

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeIdx, parseIdx, readIdx, readIdxImagesLabels, type IdxArray } from "../../src/data/idx.js";
import { DataError } from "../../src/io/data-error.js";
import { DEFAULT_FASHION_MNIST_DIR } from "../../src/data/fashion-mnist.js";

const dir = mkdtempSync(join(tmpdir(), "maskbit-idx-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const images: IdxArray = { dtype: "uint8", dims: [3, 2, 4], data: Uint8Array.from({ length: 24 }, (_, i) => i * 10) };
const labels: IdxArray = { dtype: "uint8", dims: [3], data: Uint8Array.from([9, 0, 3]) };

for (const gzip of [false, true]) {
  test(`readIdx uint8 [3,2,4] ${gzip ? "gzipped" : "plain"}`, async () => {
    const p = join(dir, `img-${gzip}`);
    writeFileSync(p, encodeIdx(images, { gzip }));
    const got = await readIdx(p);
    assert.equal(got.dtype, "uint8");
    assert.deepEqual(got.dims, [3, 2, 4]);
    assert.deepEqual(Array.from(got.data), Array.from(images.data));
  });
}

test("readIdx decodes big-endian int16/int32/float32/float64/int8", async () => {
  const cases: IdxArray[] = [
    { dtype: "int8", dims: [3], data: Int8Array.from([-128, 0, 127]) },
    { dtype: "int16", dims: [2, 2], data: Int16Array.from([-32768, 1, 256, 32767]) },
    { dtype: "int32", dims: [2], data: Int32Array.from([-2147483648, 16909060]) },
    { dtype: "float32", dims: [2], data: Float32Array.from([1.5, -0.25]) },
    { dtype: "float64", dims: [1, 2], data: Float64Array.from([Math.PI, -1e300]) },
  ];
  for (const c of cases) {
    const bytes = encodeIdx(c);
    if (c.dtype === "int16") assert.deepEqual(Array.from(bytes.subarray(12, 14)), [0x80, 0x00], "big-endian on disk");
    const got = parseIdx(bytes);
    assert.equal(got.dtype, c.dtype);
    assert.deepEqual(got.dims, c.dims);
    assert.deepEqual(Array.from(got.data), Array.from(c.data));
    const p = join(dir, `t-${c.dtype}.gz`);
    writeFileSync(p, encodeIdx(c, { gzip: true }));
    assert.deepEqual(Array.from((await readIdx(p)).data), Array.from(c.data));
  }
});

test("readIdxImagesLabels pairs images and labels", async () => {
  const ip = join(dir, "pair-images.gz"), lp = join(dir, "pair-labels");
  writeFileSync(ip, encodeIdx(images, { gzip: true }));
  writeFileSync(lp, encodeIdx(labels));
  const got = await readIdxImagesLabels(ip, lp);
  assert.deepEqual(got.images.dims, [3, 2, 4]);
  assert.deepEqual(Array.from(got.labels.data), [9, 0, 3]);
});

test("bad magic names the file and the bytes found", async () => {
  const p = join(dir, "bad-magic");
  writeFileSync(p, Uint8Array.from([1, 2, 8, 1, 0, 0, 0, 0]));
  await assert.rejects(readIdx(p), (e: unknown) => e instanceof DataError && e.file === p && /two zero bytes/.test(e.expected) && /0x01 0x02/.test(e.got));
});

test("unknown dtype byte is refused", () => {
  assert.throws(() => parseIdx(Uint8Array.from([0, 0, 0x07, 1, 0, 0, 0, 1, 5]), "x.idx"), (e: unknown) => e instanceof DataError && e.got === "0x07");
});

test("truncated plain file: expected and actual byte counts", async () => {
  const p = join(dir, "truncated");
  writeFileSync(p, encodeIdx(images).subarray(0, 30));
  await assert.rejects(readIdx(p), (e: unknown) => e instanceof DataError && e.file === p && /^40 bytes/.test(e.expected) && /30 bytes \(truncated\)/.test(e.got));
});

test("truncated header is refused", () => {
  assert.throws(() => parseIdx(Uint8Array.from([0, 0, 8, 3, 0, 0]), "h"), (e: unknown) => e instanceof DataError && /truncated/.test(e.got));
});

test("trailing bytes are refused", () => {
  const bytes = new Uint8Array([...encodeIdx(labels), 0]);
  assert.throws(() => parseIdx(bytes, "t"), (e: unknown) => e instanceof DataError && /trailing/.test(e.got));
});

test("truncated gzip stream names the file", async () => {
  const p = join(dir, "truncated.gz");
  const gz = encodeIdx(images, { gzip: true });
  writeFileSync(p, gz.subarray(0, gz.length - 12));
  await assert.rejects(readIdx(p), (e: unknown) => e instanceof DataError && e.file === p && /gzip/.test(e.expected));
});

test("missing file names the path", async () => {
  const p = join(dir, "nope");
  await assert.rejects(readIdx(p), (e: unknown) => e instanceof DataError && e.file === p);
});

test("label count that differs from the image count names the label file", async () => {
  const ip = join(dir, "mm-images"), lp = join(dir, "mm-labels");
  writeFileSync(ip, encodeIdx(images));
  writeFileSync(lp, encodeIdx({ dtype: "uint8", dims: [2], data: Uint8Array.from([1, 2]) }));
  await assert.rejects(readIdxImagesLabels(ip, lp), (e: unknown) => e instanceof DataError && e.file === lp && e.got === "2" && e.expected.includes(ip));
});


test("real Fashion-MNIST IDX files (the committed subset: 200 per class, file order): train 2000 and test 2000, uint8 28x28", async () => {
  for (const [prefix, n, first] of [["train", 2000, [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]], ["t10k", 2000, [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]]] as const) {
    const d = DEFAULT_FASHION_MNIST_DIR;
    const { images: im, labels: lb } = await readIdxImagesLabels(join(d, `${prefix}-images-idx3-ubyte.gz`), join(d, `${prefix}-labels-idx1-ubyte.gz`));
    assert.deepEqual(im.dims, [n, 28, 28]);
    assert.deepEqual(lb.dims, [n]);
    assert.deepEqual(Array.from(lb.data.subarray(0, 10)), first);
    const perClass = new Array<number>(10).fill(0);
    for (const v of lb.data) perClass[v]!++;
    assert.deepEqual(perClass, new Array<number>(10).fill(n / 10), "balanced classes");
    let min = 255, max = 0;
    const px = im.data as Uint8Array;
    for (let i = 0; i < px.length; i++) { const v = px[i]!; if (v < min) min = v; if (v > max) max = v; }
    assert.equal(min, 0);
    assert.equal(max, 255);
  }
});

test("absurd IDX dimensions are refused from the header, without allocating", () => {
  // 255 dimensions: refused by maxRank before the header is even read.
  const many = new Uint8Array(4 + 4 * 255);
  many.set([0, 0, 0x08, 255]);
  assert.throws(() => parseIdx(many, "many.idx"), (e: unknown) => e instanceof DataError && /maxRank = 8/.test(e.expected) && /limits/.test(e.hint ?? ""));
  // Eight dimensions of 2^32 - 1: a product far beyond 2^53, refused as not fitting the file.
  const huge = new Uint8Array(4 + 32).fill(0xff);
  huge.set([0, 0, 0x0d, 8]);
  assert.throws(() => parseIdx(huge, "huge.idx"), (e: unknown) => e instanceof DataError && /product fits the file/.test(e.expected));
  // A plausible 60000 x 28 x 28 header with 10 bytes of data: truncated, not a 47 MB allocation.
  const short = encodeIdx({ dtype: "uint8", dims: [1], data: Uint8Array.of(0) }).slice(0, 4);
  const header = new Uint8Array(16 + 10);
  header.set(short);
  header[3] = 3;
  new DataView(header.buffer).setUint32(4, 60000);
  new DataView(header.buffer).setUint32(8, 28);
  new DataView(header.buffer).setUint32(12, 28);
  assert.throws(() => parseIdx(header, "short.idx"), (e: unknown) => e instanceof DataError && /truncated/.test(e.got));
});

test("a gzipped IDX that inflates past maxBytes stops there with a DataError", async () => {
  const big = encodeIdx({ dtype: "uint8", dims: [1 << 20], data: new Uint8Array(1 << 20) }, { gzip: true });
  const p = join(dir, "bomb.idx.gz");
  writeFileSync(p, big);
  await assert.rejects(readIdx(p, { limits: { maxBytes: 1 << 16 } }), (e: unknown) => e instanceof DataError && /maxBytes = 65536/.test(e.expected));
  assert.equal((await readIdx(p)).dims[0], 1 << 20);
});
