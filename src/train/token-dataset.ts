// Stage II trains on token ids, not pixels. The frozen tokenizer is deterministic, so the dataset
// is tokenized once up front instead of on every step (the official loop re-encodes each batch
// because its augmentation differs per epoch): copy 0 is every training image without
// augmentation, copies 1..n are augmented with the recipe's crop/flip settings. The ids are cached
// in the run directory, keyed by the tokenizer file's hash, so a resumed run skips the work.
// Batches are then drawn by a seeded per-epoch permutation whose position is checkpointed.

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { HostTensor } from "../engine/host-tensor.js";
import { Rng } from "../engine/rng.js";
import { ConfigError } from "../engine/errors.js";
import { readSafetensors, writeSafetensors } from "../io/safetensors.js";
import type { Tokenizer } from "../models/tokenizer/tokenizer.js";
import { imageLoader, type TrainingImages } from "./images.js";
import type { DatasetSettings } from "./recipe.js";

export interface TokenDataset {
  /** int64 [N, L] row-major token ids. */
  readonly ids: BigInt64Array;
  /** int64 [N] class labels. */
  readonly labels: BigInt64Array;
  readonly count: number;
  readonly seqLen: number;
}

export interface TokenizeOptions {
  /** fileSha256 of the tokenizer's file: the cache is only reused for the same weights. */
  readonly tokenizerSha256: string;
  /** Extra augmented copies of the training set (0: only the plain images). */
  readonly augmentedCopies: number;
  readonly seed: number;
  readonly cachePath: string;
  readonly batchSize?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export async function tokenizeDataset(tokenizer: Tokenizer, images: TrainingImages, d: DatasetSettings, o: TokenizeOptions): Promise<TokenDataset> {
  const key = JSON.stringify({ tokenizer: o.tokenizerSha256, copies: o.augmentedCopies, seed: o.seed, images: images.train.count, dataset: d });
  if (existsSync(o.cachePath)) {
    const cached = readSafetensors(o.cachePath);
    if (cached.metadata.key === key) return fromTensors(cached.tensors.get("ids")!, cached.tensors.get("labels")!);
  }
  const channels = tokenizer.config.numChannels as 1 | 3;
  const n = images.train.count, copies = 1 + o.augmentedCopies, batch = o.batchSize ?? 200;
  const seq = (d.resolution / tokenizer.stride) ** 2;
  const ids = new BigInt64Array(copies * n * seq), labels = new BigInt64Array(copies * n);
  let row = 0;
  for (let copy = 0; copy < copies; copy++) {
    const loader = imageLoader(images.train, d, { batchSize: batch, seed: o.seed + copy, channels, augment: copy > 0, shuffle: false, dropLast: false });
    for (let done = 0; done < n;) {
      const b = await loader.next();
      const enc = await tokenizer.encode(b.images);
      ids.set(enc.ids.data as BigInt64Array, row * seq);
      labels.set(b.labels.data, row);
      row += b.indices.length;
      done += b.indices.length;
      o.onProgress?.(row, copies * n);
    }
  }
  const out = { ids, labels, count: copies * n, seqLen: seq };
  writeSafetensors(o.cachePath, new Map([["ids", new HostTensor("int64", [out.count, seq], ids)], ["labels", new HostTensor("int64", [out.count], labels)]]), { key });
  return out;
}

function fromTensors(ids: HostTensor, labels: HostTensor): TokenDataset {
  const [count, seqLen] = ids.shape as [number, number];
  return { ids: ids.data as BigInt64Array, labels: labels.data as BigInt64Array, count, seqLen };
}

export function fileSha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

export interface TokenBatchState {
  readonly epoch: number;
  /** Rows of this epoch's permutation already handed out. */
  readonly index: number;
}

/** Fixed-size batches (the last partial batch of an epoch is skipped), reshuffled every epoch. */
export class TokenBatches {
  private epoch = 0;
  private index = 0;
  private perm: { epoch: number; order: Uint32Array } | null = null;

  constructor(readonly data: TokenDataset, readonly batchSize: number, readonly seed: number) {
    if (data.count < batchSize) throw new ConfigError({ op: "TokenBatches", expected: `at least ${batchSize} tokenized images (the batch size)`, got: `${data.count}` });
  }

  get state(): TokenBatchState { return { epoch: this.epoch, index: this.index }; }

  restore(s: TokenBatchState): void {
    if (!(Number.isInteger(s.epoch) && s.epoch >= 0 && Number.isInteger(s.index) && s.index >= 0 && s.index <= this.data.count)) {
      throw new ConfigError({ op: "TokenBatches.restore", expected: `epoch >= 0 and 0 <= index <= ${this.data.count}`, got: JSON.stringify(s) });
    }
    this.epoch = s.epoch;
    this.index = s.index;
  }

  next(): { ids: HostTensor; labels: HostTensor } {
    if (this.data.count - this.index < this.batchSize) { this.epoch++; this.index = 0; }
    const order = this.order(this.epoch);
    const { seqLen: L } = this.data;
    const ids = new BigInt64Array(this.batchSize * L), labels = new BigInt64Array(this.batchSize);
    for (let k = 0; k < this.batchSize; k++) {
      const r = order[this.index + k]!;
      ids.set(this.data.ids.subarray(r * L, (r + 1) * L), k * L);
      labels[k] = this.data.labels[r]!;
    }
    this.index += this.batchSize;
    return { ids: new HostTensor("int64", [this.batchSize, L], ids), labels: new HostTensor("int64", [this.batchSize], labels) };
  }

  private order(epoch: number): Uint32Array {
    if (this.perm?.epoch === epoch) return this.perm.order;
    const rng = new Rng((this.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
    const order = Uint32Array.from({ length: this.data.count }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = order[i]!; order[i] = order[j]!; order[j] = t;
    }
    this.perm = { epoch, order };
    return order;
  }
}
