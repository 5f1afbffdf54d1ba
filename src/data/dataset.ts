// What a loader iterates over: N labelled images, each fetched by index as a uint8 planar image.

import { ConfigError } from "../engine/errors.js";
import { DataError } from "../io/data-error.js";
import { planarImage, type PlanarImage } from "../io/planar.js";

export interface ImageDataset {
  readonly count: number;
  /** 1 (grey) or 3 (RGB). */
  readonly channels: number;
  /** Set when every image has the same size. */
  readonly height?: number;
  readonly width?: number;
  /** Index = class id; empty for an unlabelled dataset (labels are then -1). */
  readonly classNames: readonly string[];
  label(index: number): number;
  image(index: number): PlanarImage<Uint8Array> | Promise<PlanarImage<Uint8Array>>;
}

export interface DenseImages {
  /** uint8 [N, C, H, W]. */
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly classNames: readonly string[];
}

/** A dataset held in memory as one [N, C, H, W] uint8 array (Fashion-MNIST and the like). */
export class DenseImageDataset implements ImageDataset, DenseImages {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly classNames: readonly string[];

  constructor(d: DenseImages) {
    const per = d.channels * d.height * d.width;
    if (d.images.length !== d.count * per || d.labels.length !== d.count) {
      throw new DataError({
        op: "DenseImageDataset",
        expected: `${d.count * per} pixels and ${d.count} labels for ${d.count} images [${d.channels}, ${d.height}, ${d.width}]`,
        got: `${d.images.length} pixels and ${d.labels.length} labels`,
      });
    }
    ({ images: this.images, labels: this.labels, count: this.count, height: this.height, width: this.width, channels: this.channels, classNames: this.classNames } = d);
  }

  label(index: number): number { return this.labels[checkIndex(index, this.count)]!; }

  /** A view into `images` (no copy): treat it as read-only. */
  image(index: number): PlanarImage<Uint8Array> {
    const per = this.channels * this.height * this.width;
    const i = checkIndex(index, this.count);
    return planarImage(this.images.subarray(i * per, (i + 1) * per), this.channels, this.height, this.width);
  }
}

/** The images at `indices` of `base`, in that order (e.g. a small overfitting set). */
export function subset(base: ImageDataset, indices: readonly number[]): ImageDataset {
  for (const i of indices) checkIndex(i, base.count);
  return {
    count: indices.length,
    channels: base.channels,
    height: base.height,
    width: base.width,
    classNames: base.classNames,
    label: (i) => base.label(indices[checkIndex(i, indices.length)]!),
    image: (i) => base.image(indices[checkIndex(i, indices.length)]!),
  };
}

export function checkIndex(index: number, count: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new ConfigError({ op: "dataset index", expected: `an integer in [0, ${count})`, got: `${index}` });
  }
  return index;
}

const normalise = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]+/g, "");

/**
 * A class id from a name or an id. Names match case-insensitively and ignoring punctuation and
 * spaces ("Ankle boot" = "ankle-boot" = "ANKLE_BOOT"); a name with a slash also matches each of its
 * parts ("T-shirt/top" answers to "tshirt" and "top"). Numeric strings are ids.
 */
export function classIdOf(classNames: readonly string[], nameOrId: string | number): number {
  const asId = typeof nameOrId === "number" ? nameOrId : /^\s*\d+\s*$/.test(nameOrId) ? Number(nameOrId) : null;
  if (asId !== null) {
    if (Number.isInteger(asId) && asId >= 0 && asId < classNames.length) return asId;
    throw new ConfigError({ op: "classIdOf", expected: `a class id in [0, ${classNames.length})`, got: `${nameOrId}` });
  }
  const key = normalise(String(nameOrId));
  const exact = classNames.findIndex((n) => normalise(n) === key);
  if (exact >= 0 && key !== "") return exact;
  const partial = classNames.findIndex((n) => n.includes("/") && n.split("/").some((part) => normalise(part) === key));
  if (partial >= 0 && key !== "") return partial;
  throw new ConfigError({
    op: "classIdOf",
    expected: `a class name or id, one of [${classNames.map((n, i) => `${i}: ${n}`).join(", ")}]`,
    got: JSON.stringify(nameOrId),
  });
}
