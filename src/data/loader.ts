// Batches for training: a seeded per-epoch shuffle, optional augmentation, fitting to the model's
// image size, [B, C, H, W] float32 in [0, 1] plus int64 labels. The position (epoch, index into
// the epoch's order, augmentation Rng state) is saved and restored exactly, and the next batch is
// prepared while the caller works on the current one.

import { HostTensor } from "../engine/host-tensor.js";
import { ConfigError } from "../engine/errors.js";
import { Rng } from "../engine/rng.js";
import { augmentImage, NO_AUGMENT, type AugmentOptions } from "./augment.js";
import type { ImageDataset } from "./dataset.js";
import { centerCropOrPad, toChannels, writeUnitFloats, type PlanarImage } from "../io/planar.js";
import { resizeCoverCenterCrop, type ResampleFilter } from "../io/resample.js";

/** How an image becomes the output size: scale to cover and centre-crop, or zero-pad / crop. */
export type Fit = "resize" | "pad";

export interface LoaderOptions {
  readonly batchSize: number;
  readonly seed: number;
  /** Default true: a fresh permutation every epoch, derived from (seed, epoch). */
  readonly shuffle?: boolean;
  /** Default true: the last, smaller batch of an epoch is skipped. */
  readonly dropLast?: boolean;
  /** Output [H, W] (a number = square); default: the dataset's own size. */
  readonly size?: number | readonly [number, number];
  /** Default "resize". With a random crop, "pad" pads before cropping; "resize" crops the original. */
  readonly fit?: Fit;
  /** Filter for fit = "resize"; default bilinear. */
  readonly fitFilter?: ResampleFilter;
  /** Output channels; grey is repeated to RGB, RGB converted to luma. Default: the dataset's. */
  readonly channels?: 1 | 3;
  /** Default NO_AUGMENT; see TOKENIZER_AUGMENT and GENERATOR_AUGMENT. */
  readonly augment?: AugmentOptions;
  /** Default true: prepare the next batch as soon as one is handed out. */
  readonly prefetch?: boolean;
}

export interface Batch {
  /** float32 [B, C, H, W] in [0, 1]. */
  readonly images: HostTensor<Float32Array>;
  /** int64 [B]; -1 for unlabelled datasets. */
  readonly labels: HostTensor<BigInt64Array>;
  /** Dataset indices of the samples. */
  readonly indices: readonly number[];
  readonly epoch: number;
  /** Batch number within the epoch. */
  readonly step: number;
}

/** Where a loader stands after the last batch it handed out; plain JSON for checkpoints. */
export interface LoaderState {
  readonly seed: number;
  readonly count: number;
  readonly epoch: number;
  /** Samples of this epoch's order already handed out. */
  readonly index: number;
  /** The augmentation Rng's state. */
  readonly rng: readonly number[];
}

interface Produced { readonly batch: Batch; readonly epoch: number; readonly index: number; readonly rng: readonly number[] }

export class BatchLoader {
  readonly batchSize: number;
  readonly height: number;
  readonly width: number;
  readonly channels: 1 | 3;
  private readonly opts: Required<Omit<LoaderOptions, "size" | "channels">>;
  private epoch = 0;
  private index = 0;
  private rng: readonly number[];
  private pending: Promise<Produced> | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private inFlight = 0;
  private order: { epoch: number; perm: Uint32Array } | null = null;

  constructor(readonly dataset: ImageDataset, options: LoaderOptions, state?: LoaderState) {
    const op = "BatchLoader";
    const { batchSize, seed } = options;
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new ConfigError({ op, expected: "batchSize a positive integer", got: `${batchSize}` });
    if (!Number.isInteger(seed)) throw new ConfigError({ op, expected: "an integer seed", got: `${seed}` });
    this.opts = {
      batchSize, seed, shuffle: options.shuffle ?? true, dropLast: options.dropLast ?? true, fit: options.fit ?? "resize",
      fitFilter: options.fitFilter ?? "bilinear", augment: options.augment ?? NO_AUGMENT, prefetch: options.prefetch ?? true,
    };
    const minimum = this.opts.dropLast ? batchSize : 1;
    if (dataset.count < minimum) throw new ConfigError({ op, expected: `at least ${minimum} images (batchSize ${batchSize}, dropLast ${this.opts.dropLast})`, got: `${dataset.count}` });
    const size = options.size ?? (dataset.height !== undefined && dataset.width !== undefined ? [dataset.height, dataset.width] as const : undefined);
    if (size === undefined) throw new ConfigError({ op, expected: "options.size (the dataset's images differ in size)", got: "no size" });
    [this.height, this.width] = typeof size === "number" ? [size, size] : size;
    const channels = options.channels ?? dataset.channels;
    if (channels !== 1 && channels !== 3) throw new ConfigError({ op, expected: "1 or 3 channels", got: `${channels}` });
    this.channels = channels;
    this.batchSize = batchSize;
    // Distinct streams for shuffling (rebuilt per epoch) and augmentation (carried along).
    this.rng = new Rng((seed ^ 0x2545f491) >>> 0).state;
    if (state) this.restore(state);
  }

  get batchesPerEpoch(): number {
    const n = this.dataset.count / this.batchSize;
    return this.opts.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  get state(): LoaderState {
    return { seed: this.opts.seed, count: this.dataset.count, epoch: this.epoch, index: this.index, rng: [...this.rng] };
  }

  /** Moves to a saved position; the prefetched batch, if any, is discarded. Not while next() is pending. */
  restore(state: LoaderState): void {
    const op = "BatchLoader.restore";
    if (this.inFlight > 0) throw new ConfigError({ op, expected: "no next() in flight", got: `${this.inFlight} pending` });
    if (state.seed !== this.opts.seed || state.count !== this.dataset.count) {
      throw new ConfigError({ op, expected: `a state for seed ${this.opts.seed} over ${this.dataset.count} images`, got: `seed ${state.seed} over ${state.count} images` });
    }
    if (!(Number.isInteger(state.epoch) && state.epoch >= 0 && Number.isInteger(state.index) && state.index >= 0 && state.index <= state.count && state.rng.length === 4)) {
      throw new ConfigError({ op, expected: "epoch >= 0, 0 <= index <= count and 4 Rng words", got: JSON.stringify(state) });
    }
    this.epoch = state.epoch;
    this.index = state.index;
    this.rng = [...state.rng];
    this.pending = null;
  }

  /** The next batch (epochs roll over forever). Calls are served in order. */
  next(): Promise<Batch> {
    this.inFlight++;
    const result = this.chain.then(() => this.advance()).finally(() => { this.inFlight--; });
    this.chain = result.catch(() => undefined);
    return result;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Batch, never> {
    for (;;) yield await this.next();
  }

  private async advance(): Promise<Batch> {
    const produced = await (this.pending ?? this.schedule(this.epoch, this.index, this.rng));
    this.pending = null;
    ({ epoch: this.epoch, index: this.index, rng: this.rng } = produced);
    if (this.opts.prefetch) this.pending = this.schedule(this.epoch, this.index, this.rng);
    return produced.batch;
  }

  private schedule(epoch: number, index: number, rng: readonly number[]): Promise<Produced> {
    // setImmediate: build the batch once the caller has yielded (e.g. is awaiting a session run).
    const p = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.produce(epoch, index, rng));
    p.catch(() => undefined); // reported when awaited; not an unhandled rejection if discarded
    return p;
  }

  private permutation(epoch: number): Uint32Array {
    if (this.order?.epoch === epoch) return this.order.perm;
    const perm = Uint32Array.from({ length: this.dataset.count }, (_, i) => i);
    if (this.opts.shuffle) {
      const rng = new Rng((this.opts.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
      for (let i = perm.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = perm[i]!; perm[i] = perm[j]!; perm[j] = t;
      }
    }
    this.order = { epoch, perm };
    return perm;
  }

  private async produce(epoch: number, index: number, rngState: readonly number[]): Promise<Produced> {
    const count = this.dataset.count;
    if (count - index < (this.opts.dropLast ? this.batchSize : 1)) { epoch++; index = 0; }
    const perm = this.permutation(epoch);
    const n = Math.min(this.batchSize, count - index);
    const indices = Array.from(perm.subarray(index, index + n));
    // Decode everything first, then draw random numbers in sample order: the Rng stream never
    // depends on which decode finishes first.
    const raws = await Promise.all(indices.map((i) => this.dataset.image(i)));
    const rng = new Rng(0);
    rng.state = [...rngState];
    const { channels: c, height: h, width: w } = this;
    const images = new Float32Array(n * c * h * w);
    const labels = new BigInt64Array(n);
    raws.forEach((raw, k) => {
      const img = this.prepare(raw, rng);
      writeUnitFloats(img.data, images, k * c * h * w);
      labels[k] = BigInt(this.dataset.label(indices[k]!));
    });
    const batch: Batch = {
      images: new HostTensor("float32", [n, c, h, w], images),
      labels: new HostTensor("int64", [n], labels),
      indices, epoch, step: Math.floor(index / this.batchSize),
    };
    return { batch, epoch, index: index + n, rng: rng.state };
  }

  private prepare(raw: PlanarImage<Uint8Array>, rng: Rng): PlanarImage<Uint8Array> {
    const { fit, fitFilter, augment } = this.opts;
    const { height: h, width: w } = this;
    let img = toChannels(raw, this.channels);
    if (augment.crop) {
      if (fit === "pad") img = centerCropOrPad(img, h, w);
    } else {
      img = fit === "pad" ? centerCropOrPad(img, h, w) : resizeCoverCenterCrop(img, h, w, fitFilter);
    }
    return augmentImage(img, h, w, augment, rng);
  }
}
