// The mergeable state of an evaluation: everything a score is computed from, kept as sums so that
// shards add up exactly (spec: merge the per-shard feature sums, never the scores).
//   stats:  FeatureStats (float64 sum, sum of outer products, count) per feature set;
//   sums:   float64 vectors that add elementwise (metric sums and counts, codebook histograms,
//           per-class hit counts); counts stay exact in float64 up to 2^53;
//   logits: float32 [N, C] classifier logits, concatenated in shard order: the Inception Score is a
//           function of ordered splits, so it is recomputed from the logits at the end.
// A shard file is safetensors: tensors under "stats.<name>.", "sums.<name>", "logits.<name>", and
// in __metadata__ the format, the kind, the shard "i/n" and the run's settings (JSON), which every
// shard of one evaluation must share.

import { HostTensor } from "../engine/host-tensor.js";
import { CheckpointError, ConfigError, fmtShape } from "../engine/errors.js";
import { readSafetensors, writeSafetensors } from "../io/safetensors.js";
import { FeatureStats, STATS_KEYS } from "./feature-stats.js";
import { shardName, WHOLE, type Shard } from "./shard.js";

export const SHARD_FORMAT = "maskbit-eval-shard";

export type EvalKind = "tokenizer" | "generator";
export type EvalSettings = Readonly<Record<string, string | number | boolean | null | readonly string[]>>;

export class EvalSums {
  readonly stats = new Map<string, FeatureStats>();
  readonly sums = new Map<string, Float64Array>();
  readonly logits = new Map<string, HostTensor<Float32Array>>();

  constructor(readonly kind: EvalKind, readonly shard: Shard, readonly settings: EvalSettings) {}

  /** Adds v elementwise into the named sum (created at v's length). */
  addSum(name: string, v: ArrayLike<number>): void {
    let s = this.sums.get(name);
    if (!s) this.sums.set(name, (s = new Float64Array(v.length)));
    if (s.length !== v.length) throw new ConfigError({ op: "EvalSums.addSum", scope: name, expected: `${s.length} values`, got: `${v.length}` });
    for (let i = 0; i < v.length; i++) s[i]! += v[i]!;
  }

  /** Appends rows [B, C] to the named logits. */
  appendLogits(name: string, rows: HostTensor): void {
    const prev = this.logits.get(name);
    const c = rows.shape[1]!;
    if (rows.dtype !== "float32" || rows.shape.length !== 2 || (prev && prev.shape[1] !== c)) {
      throw new ConfigError({ op: "EvalSums.appendLogits", scope: name, expected: `float32 [B, ${prev?.shape[1] ?? "C"}]`, got: `${rows.dtype}${fmtShape(rows.shape)}` });
    }
    const data = new Float32Array((prev?.size ?? 0) + rows.size);
    if (prev) data.set(prev.data);
    data.set(rows.data as Float32Array, prev?.size ?? 0);
    this.logits.set(name, new HostTensor("float32", [data.length / c, c], data));
  }

  sum(name: string): Float64Array {
    const s = this.sums.get(name);
    if (!s) throw new CheckpointError({ op: "EvalSums.sum", scope: name, expected: `a "${name}" sum in the ${this.kind} evaluation`, got: "none" });
    return s;
  }

  statsOf(name: string): FeatureStats {
    const s = this.stats.get(name);
    if (!s) throw new CheckpointError({ op: "EvalSums.statsOf", scope: name, expected: `"${name}" feature statistics in the ${this.kind} evaluation`, got: "none" });
    return s;
  }

  /** Adds another shard's state into this one; `other` must come right after the shards already merged. */
  merge(other: EvalSums): void {
    for (const [k, s] of other.stats) {
      const mine = this.stats.get(k);
      if (mine) mine.merge(s);
      else this.stats.set(k, s);
    }
    for (const [k, v] of other.sums) this.addSum(k, v);
    for (const [k, l] of other.logits) this.appendLogits(k, l);
  }

  async dispose(): Promise<void> {
    for (const s of this.stats.values()) await s.dispose();
  }

  save(path: string): void {
    const tensors = new Map<string, HostTensor>();
    for (const [k, s] of this.stats) for (const [key, t] of s.toTensors(`stats.${k}.`)) tensors.set(key, t);
    for (const [k, v] of this.sums) tensors.set(`sums.${k}`, new HostTensor("float64", [v.length], v));
    for (const [k, l] of this.logits) tensors.set(`logits.${k}`, l);
    writeSafetensors(path, tensors, { format: SHARD_FORMAT, kind: this.kind, shard: shardName(this.shard), settings: JSON.stringify(this.settings) });
  }

  static load(path: string): EvalSums {
    const bad = (expected: string, got: string) => new CheckpointError({ op: "EvalSums.load", scope: path, expected, got });
    const { tensors, metadata } = readSafetensors(path);
    if (metadata.format !== SHARD_FORMAT) throw bad(`an evaluation shard (__metadata__.format "${SHARD_FORMAT}", written by --save-shard)`, JSON.stringify(metadata.format ?? null));
    const kind = metadata.kind;
    if (kind !== "tokenizer" && kind !== "generator") throw bad("kind tokenizer or generator", JSON.stringify(kind ?? null));
    const m = /^(\d+)\/(\d+)$/.exec(metadata.shard ?? "");
    if (!m) throw bad("shard i/n", JSON.stringify(metadata.shard ?? null));
    const out = new EvalSums(kind, { index: Number(m[1]), count: Number(m[2]) }, JSON.parse(metadata.settings ?? "{}") as EvalSettings);
    for (const [key, t] of tensors) {
      const [group, ...rest] = key.split(".");
      const name = rest.join(".");
      if (group === "stats" && name.endsWith(`.${STATS_KEYS.sum}`)) {
        const prefix = `stats.${name.slice(0, -STATS_KEYS.sum.length - 1)}.`;
        out.stats.set(prefix.slice(6, -1), FeatureStats.fromTensors(tensors, prefix));
      } else if (group === "sums" && t.dtype === "float64" && t.shape.length === 1) {
        out.sums.set(name, (t.data as Float64Array).slice());
      } else if (group === "logits" && t.dtype === "float32" && t.shape.length === 2) {
        out.logits.set(name, t as HostTensor<Float32Array>);
      } else if (group !== "stats") {
        throw bad("stats.*, float64 [n] sums.* and float32 [N, C] logits.* tensors", `${key}: ${t.dtype}${fmtShape(t.shape)}`);
      }
    }
    return out;
  }
}

/** Merges the shards of one evaluation (any order of files); every shard i/n must be there exactly once. */
export function mergeEvalSums(shards: readonly EvalSums[]): EvalSums {
  const op = "mergeEvalSums";
  if (shards.length === 0) throw new ConfigError({ op, expected: "at least one shard file", got: "none" });
  const first = shards[0]!, n = first.shard.count;
  for (const s of shards) {
    if (s.kind !== first.kind) throw new ConfigError({ op, expected: `shards of one kind (${first.kind})`, got: s.kind });
    if (s.shard.count !== n) throw new ConfigError({ op, expected: `shards of one split into ${n}`, got: `shard ${shardName(s.shard)}` });
    if (JSON.stringify(s.settings) !== JSON.stringify(first.settings)) {
      throw new ConfigError({ op, expected: `the same settings in every shard: ${JSON.stringify(first.settings)}`, got: `${JSON.stringify(s.settings)} in shard ${shardName(s.shard)}` });
    }
  }
  const ordered = [...shards].sort((a, b) => a.shard.index - b.shard.index);
  const have = ordered.map((s) => s.shard.index);
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !have.includes(i));
  const twice = have.filter((v, i) => have.indexOf(v) !== i);
  if (missing.length || twice.length) {
    throw new ConfigError({ op, expected: `each of the ${n} shards exactly once`, got: `${missing.length ? `missing ${missing.map((i) => `${i}/${n}`).join(", ")}` : ""}${missing.length && twice.length ? "; " : ""}${twice.length ? `repeated ${twice.map((i) => `${i}/${n}`).join(", ")}` : ""}` });
  }
  const out = new EvalSums(first.kind, WHOLE, first.settings);
  for (const s of ordered) out.merge(s);
  return out;
}
