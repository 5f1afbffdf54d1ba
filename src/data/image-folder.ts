// A dataset from a directory of image files. With class subfolders (root/<class>/…/*.png) the
// sorted folder names are the class ids, as torchvision's ImageFolder does; without subfolders
// the images are unlabelled (label -1). Files are decoded on demand.

import { readdir } from "node:fs/promises";
import { extname, join } from "node:path";
import { DataError } from "../io/data-error.js";
import { checkIndex, type ImageDataset } from "./dataset.js";
import type { PlanarImage } from "../io/planar.js";
import { decodeImage8 } from "../io/image.js";

export const IMAGE_EXTENSIONS: readonly string[] = [".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"];

export interface ImageFolderOptions {
  /** 3 = RGB (default), 1 = grey; every image is converted on decode. */
  readonly channels?: 1 | 3;
  /** Lower-case extensions with the dot; default IMAGE_EXTENSIONS. */
  readonly extensions?: readonly string[];
  /** Keep decoded images in memory after first use (small datasets, many epochs). */
  readonly cache?: boolean;
}

export class ImageFolderDataset implements ImageDataset {
  readonly count: number;
  private readonly memo = new Map<number, Promise<PlanarImage<Uint8Array>>>();

  constructor(
    readonly root: string,
    readonly files: readonly string[],
    readonly labels: Int32Array,
    readonly classNames: readonly string[],
    readonly channels: 1 | 3,
    private readonly cache: boolean,
  ) {
    this.count = files.length;
  }

  label(index: number): number { return this.labels[checkIndex(index, this.count)]!; }

  image(index: number): Promise<PlanarImage<Uint8Array>> {
    const i = checkIndex(index, this.count);
    const hit = this.memo.get(i);
    if (hit) return hit;
    const p = decodeImage8(this.files[i]!, { channels: this.channels });
    if (this.cache) {
      this.memo.set(i, p);
      p.catch(() => this.memo.delete(i)); // a failed decode is retried, not remembered
    }
    return p;
  }
}

// Python's sorted() compares code points; so does a plain JS string comparison for BMP names.
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

async function listImages(dir: string, extensions: ReadonlySet<string>): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => byName(a.name, b.name));
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listImages(p, extensions)));
    else if (extensions.has(extname(e.name).toLowerCase())) out.push(p);
  }
  return out;
}

/** Scans `root` and returns the dataset (files sorted by path within each class). */
export async function openImageFolder(root: string, options: ImageFolderOptions = {}): Promise<ImageFolderDataset> {
  const op = "openImageFolder";
  const extensions = new Set(options.extensions ?? IMAGE_EXTENSIONS);
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (e) {
    throw new DataError({ op, file: root, expected: "a readable directory of images", got: (e as Error).message });
  }
  const classNames = entries.filter((e) => e.isDirectory() && !e.name.startsWith(".")).map((e) => e.name).sort(byName);
  const files: string[] = [];
  const labels: number[] = [];
  if (classNames.length > 0) {
    for (const [id, name] of classNames.entries()) {
      const found = await listImages(join(root, name), extensions);
      if (found.length === 0) {
        throw new DataError({ op, file: join(root, name), expected: `image files (${[...extensions].join(", ")}) in every class folder`, got: "none" });
      }
      files.push(...found);
      for (let k = 0; k < found.length; k++) labels.push(id);
    }
  } else {
    files.push(...(await listImages(root, extensions)));
    for (let k = 0; k < files.length; k++) labels.push(-1);
  }
  if (files.length === 0) {
    throw new DataError({ op, file: root, expected: `image files (${[...extensions].join(", ")}) or class folders holding them`, got: "none" });
  }
  return new ImageFolderDataset(root, files, Int32Array.from(labels), classNames, options.channels ?? 3, options.cache ?? false);
}
