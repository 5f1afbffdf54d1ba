// Fashion-MNIST (Xiao et al. 2017): 28x28 grey, 60,000 train / 10,000 test, 10 classes. It is read
// from IDX files: by default the Debian package dataset-fashion-mnist's directory, or any
// directory holding the standard files under their usual names (gzipped or not).

import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { DataError } from "../io/data-error.js";
import { DenseImageDataset, classIdOf } from "./dataset.js";
import { readIdxImagesLabels, type IdxArray } from "./idx.js";

/** The dataset's own class names, index = label. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
];

/** Where the Debian package puts the files. */
export const DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/**
 * The default directory: $MASKBIT_FASHION_MNIST_DIR when set (the test runner points it at the
 * committed subset in test/fixtures), else the Debian package's.
 */
export const DEFAULT_FASHION_MNIST_DIR = process.env.MASKBIT_FASHION_MNIST_DIR || DEBIAN_FASHION_MNIST_DIR;

export type Split = "train" | "test";

export interface FashionMnistOptions {
  /** Directory of IDX files; default DEFAULT_FASHION_MNIST_DIR. */
  readonly dir?: string;
  readonly split: Split;
}

const PREFIXES: Readonly<Record<Split, readonly string[]>> = { train: ["train"], test: ["t10k", "test"] };
// Official names first, then the dotted variant some mirrors use (train-images.idx3-ubyte).
const STEMS = { images: ["images-idx3-ubyte", "images.idx3-ubyte"], labels: ["labels-idx1-ubyte", "labels.idx1-ubyte"] } as const;
// torchvision keeps the raw files under FashionMNIST/raw.
const SUBDIRS = ["", "raw", "FashionMNIST/raw", "fashion-mnist"];

const HINT = "install them with `apt-get install dataset-fashion-mnist`, or pass --data <dir> with train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz), t10k-images-idx3-ubyte(.gz), t10k-labels-idx1-ubyte(.gz)";

function candidates(dir: string, split: Split, kind: keyof typeof STEMS): string[] {
  return SUBDIRS.flatMap((sub) => PREFIXES[split].flatMap((p) => STEMS[kind].flatMap((stem) => {
    const base = join(dir, sub, `${p}-${stem}`);
    return [`${base}.gz`, base];
  })));
}

/** The image and label files of a split in `dir`; a DataError (with install hint) when missing. */
export function findIdxFiles(dir: string, split: Split): { images: string; labels: string } {
  const op = "findIdxFiles";
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new DataError({ op, file: dir, expected: "a directory of Fashion-MNIST IDX files", got: "no such directory", hint: HINT });
  }
  const pick = (kind: keyof typeof STEMS): string => {
    const found = candidates(dir, split, kind).find((p) => existsSync(p) && statSync(p).isFile());
    if (found) return found;
    const listing = readdirSync(dir).sort();
    const shown = listing.length ? listing.slice(0, 8).join(", ") + (listing.length > 8 ? ", …" : "") : "an empty directory";
    throw new DataError({ op, file: dir, expected: `the ${split} ${kind} file (${PREFIXES[split][0]}-${STEMS[kind][0]}[.gz])`, got: shown, hint: HINT });
  };
  return { images: pick("images"), labels: pick("labels") };
}

/** Loads one split into memory as uint8 [N, 1, 28, 28] plus labels. */
export async function loadFashionMnist(options: FashionMnistOptions): Promise<DenseImageDataset> {
  const dir = options.dir ?? DEFAULT_FASHION_MNIST_DIR;
  const files = findIdxFiles(dir, options.split);
  const { images, labels } = await readIdxImagesLabels(files.images, files.labels);
  const [count, height, width] = images.dims as [number, number, number];
  const channels = images.dims[3] ?? 1;
  const maxLabel = (labels.data as Uint8Array).reduce((m, v) => Math.max(m, v), 0);
  if (maxLabel >= FASHION_MNIST_CLASSES.length) {
    throw new DataError({ op: "loadFashionMnist", file: files.labels, expected: `labels in [0, ${FASHION_MNIST_CLASSES.length})`, got: `label ${maxLabel}` });
  }
  return new DenseImageDataset({
    images: channels === 1 ? (images.data as Uint8Array) : hwcToChw(images, count, height, width, channels),
    labels: labels.data as Uint8Array,
    count, height, width, channels,
    classNames: FASHION_MNIST_CLASSES,
  });
}

/** Colour IDX variants store [N, H, W, C]; the loader wants [N, C, H, W]. */
function hwcToChw(images: IdxArray, count: number, height: number, width: number, channels: number): Uint8Array {
  const src = images.data as Uint8Array, out = new Uint8Array(src.length), plane = height * width;
  for (let n = 0; n < count; n++) {
    const base = n * plane * channels;
    for (let p = 0; p < plane; p++) for (let c = 0; c < channels; c++) out[base + c * plane + p] = src[base + p * channels + c]!;
  }
  return out;
}

/** A Fashion-MNIST class id from its name ("Ankle boot", "ankle-boot", "ankle_boot", …) or id. */
export function fashionMnistClassId(nameOrId: string | number): number {
  return classIdOf(FASHION_MNIST_CLASSES, nameOrId);
}
