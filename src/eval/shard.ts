// Splitting an evaluation across processes: `--shard i/n` gives each process a contiguous block of
// the work (images of a split, or the generator's batches), so concatenating the shards in index
// order is the unsharded order (which keeps Inception-Score splits, which depend on order, the same).

import { ConfigError } from "../engine/errors.js";

export interface Shard {
  /** 0-based. */
  readonly index: number;
  readonly count: number;
}

export const WHOLE: Shard = { index: 0, count: 1 };

/** "i/n" with 0 <= i < n; undefined means the whole evaluation. */
export function parseShard(text: string | undefined, op = "parseShard"): Shard {
  if (text === undefined) return WHOLE;
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN, count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index < count)) {
    throw new ConfigError({ op, scope: "--shard", expected: "i/n with 0 <= i < n (e.g. 0/4)", got: JSON.stringify(text) });
  }
  return { index, count };
}

export const shardName = (s: Shard): string => `${s.index}/${s.count}`;

/** The half-open block [start, end) of `total` items that shard s does; blocks differ by at most one item. */
export function shardRange(total: number, s: Shard): { readonly start: number; readonly end: number } {
  const start = Math.floor((total * s.index) / s.count), end = Math.floor((total * (s.index + 1)) / s.count);
  if (end <= start) {
    throw new ConfigError({ op: "shardRange", scope: "--shard", expected: `at most ${total} shards for ${total} items`, got: `shard ${shardName(s)} would be empty` });
  }
  return { start, end };
}

/**
 * The items [start, end) of shard s when `total` items run in global batches of `batchSize`: the
 * shard takes whole batches (shardRange over the batches), so every batch, and with it every
 * per-batch sum, is the same whatever the shard count.
 */
export function shardBatchRange(total: number, batchSize: number, s: Shard): { readonly start: number; readonly end: number } {
  const b = shardRange(Math.ceil(total / batchSize), s);
  return { start: b.start * batchSize, end: Math.min(b.end * batchSize, total) };
}
