// Fashion-MNIST loading: the installed Debian files, directories with alternative file names,
// missing files, and class lookup.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_FASHION_MNIST_DIR, FASHION_MNIST_CLASSES, fashionMnistClassId, findIdxFiles, loadFashionMnist } from "../../src/data/fashion-mnist.js";
import { encodeIdx } from "../../src/data/idx.js";
import { DataError } from "../../src/io/data-error.js";
import { ConfigError } from "../../src/engine/errors.js";

const dir = mkdtempSync(join(tmpdir(), "maskbit-fmnist-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function writeSplit(root: string, names: { images: string; labels: string }, n: number, gzip: boolean): void {
  mkdirSync(root, { recursive: true });
  const px = Uint8Array.from({ length: n * 28 * 28 }, (_, i) => i % 251);
  writeFileSync(join(root, names.images), encodeIdx({ dtype: "uint8", dims: [n, 28, 28], data: px }, { gzip }));
  writeFileSync(join(root, names.labels), encodeIdx({ dtype: "uint8", dims: [n], data: Uint8Array.from({ length: n }, (_, i) => i % 10) }, { gzip }));
}


test("loadFashionMnist default dir (the committed subset under npm test), test split: 2000 x [1, 28, 28]", async () => {
  const ds = await loadFashionMnist({ split: "test" });
  assert.equal(ds.count, 2000);
  assert.equal(ds.images.length, 2000 * 28 * 28);
  assert.deepEqual([ds.channels, ds.height, ds.width], [1, 28, 28]);
  assert.equal(ds.classNames, FASHION_MNIST_CLASSES);
  assert.equal(ds.label(0), 9);
  assert.equal(ds.classNames[ds.label(0)], "Ankle boot");
  const img = ds.image(0);
  assert.deepEqual([img.channels, img.height, img.width], [1, 28, 28]);
});

test("loadFashionMnist accepts plain files under the dotted names, and t10k/test prefixes", async () => {
  const d = join(dir, "dotted");
  writeSplit(d, { images: "train-images.idx3-ubyte", labels: "train-labels.idx1-ubyte" }, 12, false);
  writeSplit(d, { images: "test-images-idx3-ubyte.gz", labels: "test-labels-idx1-ubyte.gz" }, 5, true);
  const train = await loadFashionMnist({ dir: d, split: "train" });
  const testSplit = await loadFashionMnist({ dir: d, split: "test" });
  assert.equal(train.count, 12);
  assert.equal(testSplit.count, 5);
  assert.deepEqual(Array.from(testSplit.labels), [0, 1, 2, 3, 4]);
  assert.equal(train.image(1).data[0], (28 * 28) % 251);
});

test("findIdxFiles prefers .gz and finds torchvision's FashionMNIST/raw layout", () => {
  const d = join(dir, "tv");
  writeSplit(join(d, "FashionMNIST", "raw"), { images: "t10k-images-idx3-ubyte", labels: "t10k-labels-idx1-ubyte" }, 2, false);
  writeSplit(join(d, "FashionMNIST", "raw"), { images: "t10k-images-idx3-ubyte.gz", labels: "t10k-labels-idx1-ubyte.gz" }, 2, true);
  const f = findIdxFiles(d, "test");
  assert.equal(f.images, join(d, "FashionMNIST", "raw", "t10k-images-idx3-ubyte.gz"));
  assert.equal(f.labels, join(d, "FashionMNIST", "raw", "t10k-labels-idx1-ubyte.gz"));
});

test("missing directory: DataError with the apt-get / --data hint", async () => {
  const d = join(dir, "absent");
  await assert.rejects(loadFashionMnist({ dir: d, split: "train" }), (e: unknown) =>
    e instanceof DataError && e.file === d && /apt-get install dataset-fashion-mnist/.test(e.message) && /--data <dir>/.test(e.message));
});

test("directory without the split's files lists what it holds", async () => {
  const d = join(dir, "partial");
  writeSplit(d, { images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte" }, 3, false);
  await assert.rejects(loadFashionMnist({ dir: d, split: "test" }), (e: unknown) =>
    e instanceof DataError && /test images file \(t10k-images-idx3-ubyte/.test(e.expected) && /train-images-idx3-ubyte/.test(e.got) && /apt-get/.test(e.message));
});

test("colour IDX images [N, H, W, 3] are transposed to [N, 3, H, W]", async () => {
  const d = join(dir, "colour");
  mkdirSync(d);
  const px = Uint8Array.from({ length: 2 * 2 * 2 * 3 }, (_, i) => i);
  writeFileSync(join(d, "train-images-idx3-ubyte"), encodeIdx({ dtype: "uint8", dims: [2, 2, 2, 3], data: px }));
  writeFileSync(join(d, "train-labels-idx1-ubyte"), encodeIdx({ dtype: "uint8", dims: [2], data: Uint8Array.from([1, 2]) }));
  const ds = await loadFashionMnist({ dir: d, split: "train" });
  assert.deepEqual([ds.channels, ds.height, ds.width], [3, 2, 2]);
  assert.deepEqual(Array.from(ds.image(1).data), [12, 15, 18, 21, 13, 16, 19, 22, 14, 17, 20, 23]);
});

test("out-of-range labels are refused", async () => {
  const d = join(dir, "badlabels");
  mkdirSync(d);
  writeFileSync(join(d, "train-images-idx3-ubyte"), encodeIdx({ dtype: "uint8", dims: [1, 28, 28], data: new Uint8Array(784) }));
  writeFileSync(join(d, "train-labels-idx1-ubyte"), encodeIdx({ dtype: "uint8", dims: [1], data: Uint8Array.from([10]) }));
  await assert.rejects(loadFashionMnist({ dir: d, split: "train" }), (e: unknown) => e instanceof DataError && e.got === "label 10");
});

test("fashionMnistClassId by name (any case, -, _, space), by id and numeric string", () => {
  assert.equal(fashionMnistClassId("Ankle boot"), 9);
  assert.equal(fashionMnistClassId("ankle-boot"), 9);
  assert.equal(fashionMnistClassId("ANKLE_BOOT"), 9);
  assert.equal(fashionMnistClassId("T-shirt/top"), 0);
  assert.equal(fashionMnistClassId("tshirt"), 0);
  assert.equal(fashionMnistClassId("top"), 0);
  assert.equal(fashionMnistClassId("sneaker"), 7);
  assert.equal(fashionMnistClassId(3), 3);
  assert.equal(fashionMnistClassId("8"), 8);
  assert.throws(() => fashionMnistClassId("boot"), (e: unknown) => e instanceof ConfigError && /9: Ankle boot/.test(e.expected));
  assert.throws(() => fashionMnistClassId(10), ConfigError);
});
