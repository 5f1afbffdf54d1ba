// Cuts the Fashion-MNIST subset the tests read (test/fixtures/fashion-mnist-subset): from each
// split of the Debian package's files, the first PER_CLASS images of every class, in file order,
// gzipped under the standard names. Class-balanced, so per-class checks hold; small enough to
// commit (about 1 MB). Rerun: `npx tsx scripts/cut-fmnist-subset.ts [source-dir]`.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeIdx, readIdxImagesLabels } from "../src/data/idx.js";

const PER_CLASS = 200;
const source = process.argv[2] ?? "/usr/share/datasets/fashion-mnist";
const out = new URL("../test/fixtures/fashion-mnist-subset/", import.meta.url).pathname;
mkdirSync(out, { recursive: true });

for (const prefix of ["train", "t10k"]) {
  const { images, labels } = await readIdxImagesLabels(join(source, `${prefix}-images-idx3-ubyte.gz`), join(source, `${prefix}-labels-idx1-ubyte.gz`));
  const taken = new Array<number>(10).fill(0);
  const keep: number[] = [];
  labels.data.forEach((label, i) => {
    if (taken[label]! < PER_CLASS) {
      taken[label]!++;
      keep.push(i);
    }
  });
  const px = new Uint8Array(keep.length * 784);
  keep.forEach((src, k) => px.set((images.data as Uint8Array).subarray(src * 784, (src + 1) * 784), k * 784));
  const lb = Uint8Array.from(keep, (i) => labels.data[i]!);
  writeFileSync(join(out, `${prefix}-images-idx3-ubyte.gz`), encodeIdx({ dtype: "uint8", dims: [keep.length, 28, 28], data: px }, { gzip: true }));
  writeFileSync(join(out, `${prefix}-labels-idx1-ubyte.gz`), encodeIdx({ dtype: "uint8", dims: [keep.length], data: lb }, { gzip: true }));
  console.log(`${prefix}: ${keep.length} images (${PER_CLASS} per class), first labels ${Array.from(lb.subarray(0, 10)).join(",")}`);
}
