// The images a recipe trains on: the dataset named by `dataset.params`, the batch loader the
// trainers draw from (fitted to the model's resolution and channels, with the recipe's
// augmentation), and a fixed held-out batch for reconstructions, sample grids and eval metrics.

import { BatchLoader, type LoaderState } from "../data/loader.js";
import { NO_AUGMENT } from "../data/augment.js";
import { subset, type ImageDataset } from "../data/dataset.js";
import { loadFashionMnist } from "../data/fashion-mnist.js";
import { openImageFolder } from "../data/image-folder.js";
import { HostTensor } from "../engine/host-tensor.js";
import type { DatasetSettings } from "./recipe.js";

export interface TrainingImages {
  readonly train: ImageDataset;
  /** Fashion-MNIST: the test split; an image folder has no split, so its first images are reused. */
  readonly heldOut: ImageDataset;
  readonly classNames: readonly string[];
}

/** Opens the recipe's dataset; `maxExamples` keeps the first N training images (quick runs, tests). */
export async function openTrainingImages(d: DatasetSettings, channels: 1 | 3, maxExamples?: number): Promise<TrainingImages> {
  let train: ImageDataset, heldOut: ImageDataset;
  if (d.kind === "fashion-mnist") {
    train = await loadFashionMnist({ split: "train", ...(d.dir ? { dir: d.dir } : {}) });
    heldOut = await loadFashionMnist({ split: "test", ...(d.dir ? { dir: d.dir } : {}) });
  } else {
    // Small folders are decoded once and kept: every epoch revisits every file.
    train = await openImageFolder(d.dir ?? ".", { channels, cache: true });
    heldOut = train;
  }
  if (maxExamples !== undefined && maxExamples < train.count) train = subset(train, Array.from({ length: maxExamples }, (_, i) => i));
  return { train, heldOut, classNames: train.classNames };
}

export interface LoaderChoice {
  readonly batchSize: number;
  readonly seed: number;
  readonly channels: 1 | 3;
  readonly augment?: boolean;
  readonly shuffle?: boolean;
  readonly dropLast?: boolean;
  readonly prefetch?: boolean;
}

/** A loader over `dataset` producing [B, channels, resolution, resolution] in [0, 1]. */
export function imageLoader(dataset: ImageDataset, d: DatasetSettings, o: LoaderChoice, state?: LoaderState): BatchLoader {
  return new BatchLoader(dataset, {
    batchSize: o.batchSize,
    seed: o.seed,
    shuffle: o.shuffle ?? true,
    dropLast: o.dropLast ?? true,
    size: d.resolution,
    fit: d.fit,
    channels: o.channels,
    augment: o.augment === false ? NO_AUGMENT : d.augment,
    prefetch: o.prefetch ?? true,
  }, state);
}

/** The first `n` held-out images (no augmentation) and their labels. */
export async function heldOutBatch(images: TrainingImages, d: DatasetSettings, n: number, channels: 1 | 3): Promise<{ images: HostTensor; labels: HostTensor }> {
  const count = Math.min(n, images.heldOut.count);
  const loader = imageLoader(images.heldOut, d, { batchSize: count, seed: 0, channels, augment: false, shuffle: false, dropLast: false, prefetch: false });
  const b = await loader.next();
  return { images: b.images, labels: b.labels };
}

/** The first `n` images of each [B, C, H, W] batch, stacked: one grid row per batch. */
export function concatBatches(batches: readonly HostTensor[], n: number): HostTensor<Float32Array> {
  const [, c, h, w] = batches[0]!.shape as [number, number, number, number];
  const per = c * h * w;
  const out = new Float32Array(batches.length * n * per);
  batches.forEach((b, i) => out.set((b.data as Float32Array).subarray(0, n * per), i * n * per));
  return new HostTensor("float32", [batches.length * n, c, h, w], out);
}
