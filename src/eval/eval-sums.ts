// The mergeable state of an evaluation: everything a score is computed from, kept as sums so that
// shards add up exactly (spec: merge the per-shard feature sums, never the scores).
//   stats:  FeatureStats (float64 sum, sum of outer products, count) per feature set;
//   sums:   float64 vectors that add elementwise (metric sums and counts, codebook histograms,
//           per-class hit counts), with compensation (compensated-sum.ts) so that any grouping of
//           the batches gives the same sums; counts stay exact in float64 up to 2^53;
//   logits: float32 [N, C] classifier logits, concatenated in shard order: the Inception Score is a
//           function of ordered splits, so it is recomputed from the logits at the end.
// A shard file is safetensors: tensors under "stats.<name>.", "sums.<name>", "logits.<name>", and
// in __metadata__ the format, the kind, the shard "i/n" and the run's settings (JSON), which every
// shard of one evaluation must share. mergeEvalSums checks a set of shards before adding them
// (eval-shard-check.ts): every shard i/n once, one run's settings, counts that fit the settings.

import { HostTensor } from "../engine/host-tensor.js";
import { CheckpointError, ConfigError, fmtShape } from "../engine/errors.js";
import { readSafetensors, writeSafetensors } from "../io/safetensors.js";
import { FeatureStats, STATS_KEYS } from "./feature-stats.js";
import { shardName, WHOLE, type Shard } from "./shard.js";
import { CompensatedSum } from "./compensated-sum.js";
import { checkShardSet } from "./eval-shard-check.js";

export const SHARD_FORMAT = "maskbit-eval-shard";

export type EvalKind = "tokenizer" | "generator";
export type EvalSettings = Readonly<Record<string, string | number | boolean | null | readonly string[]>>;

export class EvalSums {
  readonly stats = new Map<string, FeatureStats>();
  private readonly acc = new Map<string, CompensatedSum>();
  readonly logits = new Map<string, HostTensor<Float32Array>>();

  /** `source`: the shard file these sums were read from (named in errors), if any. */
  constructor(readonly kind: EvalKind, readonly shard: Shard, readonly settings: EvalSettings, readonly source?: string) {}

  /** The named sums, each rounded once from its compensated accumulator. */
  get sums(): ReadonlyMap<string, Float64Array> {
    return new Map([...this.acc].map(([k, a]) => [k, a.value()]));
  }

  /** Adds v elementwise into the named sum (created at v's length). */
  addSum(name: string, v: ArrayLike<number>): void {
    this.accumulator(name, v.length).add(v);
  }

  private accumulator(name: string, length: number): CompensatedSum {
    let s = this.acc.get(name);
    if (!s) this.acc.set(name, (s = new CompensatedSum(length)));
    if (s.length !== length) throw new ConfigError({ op: "EvalSums.addSum", scope: name, expected: `${s.length} values`, got: `${length}` });
    return s;
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
    const s = this.acc.get(name)?.value();
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
    for (const [k, v] of other.acc) this.accumulator(k, v.length).merge(v);
    for (const [k, l] of other.logits) this.appendLogits(k, l);
  }

  async dispose(): Promise<void> {
    for (const s of this.stats.values()) await s.dispose();
  }

  save(path: string): void {
    const tensors = new Map<string, HostTensor>();
    for (const [k, s] of this.stats) for (const [key, t] of s.toTensors(`stats.${k}.`)) tensors.set(key, t);
    for (const [k, v] of this.acc) {
      tensors.set(`sums.${k}`, new HostTensor("float64", [v.length], v.hi.slice()));
      tensors.set(`sums_lo.${k}`, new HostTensor("float64", [v.length], v.lo.slice()));
    }
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
    let settings: unknown;
    try {
      settings = JSON.parse(metadata.settings ?? "{}");
    } catch (e) {
      throw bad("__metadata__.settings: a JSON object of the run's settings", `${JSON.stringify((metadata.settings ?? "").slice(0, 60))} (${(e as Error).message})`);
    }
    if (!settings || typeof settings !== "object" || Array.isArray(settings)) throw bad("__metadata__.settings: a JSON object of the run's settings", JSON.stringify(metadata.settings).slice(0, 60));
    const index = Number(m[1]), count = Number(m[2]);
    if (!(Number.isSafeInteger(count) && count >= 1 && index < count)) throw bad("__metadata__.shard i/n with 0 <= i < n", JSON.stringify(metadata.shard));
    const out = new EvalSums(kind, { index, count }, settings as EvalSettings, path);
    const lo = new Map<string, Float64Array>();
    for (const [key, t] of tensors) {
      const [group, ...rest] = key.split(".");
      const name = rest.join(".");
      if (group === "stats" && name.endsWith(`.${STATS_KEYS.sum}`)) {
        const prefix = `stats.${name.slice(0, -STATS_KEYS.sum.length - 1)}.`;
        out.stats.set(prefix.slice(6, -1), FeatureStats.fromTensors(tensors, prefix));
      } else if (group === "sums" && t.dtype === "float64" && t.shape.length === 1) {
        out.acc.set(name, new CompensatedSum(t.size, (t.data as Float64Array).slice(), lo.get(name)));
      } else if (group === "sums_lo" && t.dtype === "float64" && t.shape.length === 1) {
        lo.set(name, (t.data as Float64Array).slice());
      } else if (group === "logits" && t.dtype === "float32" && t.shape.length === 2) {
        out.logits.set(name, t as HostTensor<Float32Array>);
      } else if (group !== "stats") {
        throw bad("stats.*, float64 [n] sums.* / sums_lo.* and float32 [N, C] logits.* tensors", `${key}: ${t.dtype}${fmtShape(t.shape)}`);
      }
    }
    // The compensation parts (absent in older files: zeros), matched to their sums.
    for (const [name, l] of lo) {
      const a = out.acc.get(name);
      if (!a || a.length !== l.length) throw bad(`sums_lo.${name} beside a sums.${name} of ${l.length} values`, a ? `${a.length} values` : "no such sum");
      a.lo.set(l);
    }
    return out;
  }
}

/**
 * Merges the shards of one evaluation (files in any order) after checking them as a set
 * (checkShardSet: every shard i/n once, one run's settings, counts that fit the settings).
 */
export function mergeEvalSums(shards: readonly EvalSums[]): EvalSums {
  const ordered = checkShardSet(shards);
  const first = ordered[0]!;
  const out = new EvalSums(first.kind, WHOLE, first.settings);
  for (const s of ordered) out.merge(s);
  return out;
}
