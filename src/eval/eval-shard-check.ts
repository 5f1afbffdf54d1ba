// What eval-merge checks before adding shard files, so that a crafted or mixed-up set cannot be
// scored as a whole run: each shard i/n of one run exactly once, the same kind and settings (seed,
// sample count, models, sampling, reference) in every file, and counts that agree with the
// settings: each shard holds exactly the samples / images / reference images of its block of
// whole global batches (shardBatchRange), in its feature statistics, count sums and logits rows.
// Every error names the file and the field.

import { CheckpointError, ConfigError } from "../engine/errors.js";
import type { EvalSums } from "./eval-sums.js";
import { shardBatchRange, shardName } from "./shard.js";

const OP = "eval-merge";

const fileOf = (s: EvalSums): string => s.source ?? `shard ${shardName(s.shard)}`;

/** The shards in index order, or a ConfigError / CheckpointError naming the offending file and field. */
export function checkShardSet(shards: readonly EvalSums[]): EvalSums[] {
  if (shards.length === 0) throw new ConfigError({ op: OP, expected: "at least one shard file", got: "none" });
  const first = shards[0]!, n = first.shard.count;
  for (const s of shards) {
    if (s.kind !== first.kind) throw new ConfigError({ op: OP, scope: `${fileOf(s)} __metadata__.kind`, expected: `shards of one kind (${first.kind}, as ${fileOf(first)})`, got: s.kind });
    if (s.shard.count !== n) throw new ConfigError({ op: OP, scope: `${fileOf(s)} __metadata__.shard`, expected: `shards of one split into ${n} (as ${fileOf(first)})`, got: shardName(s.shard) });
    const field = firstDifference(first.settings, s.settings);
    if (field !== undefined) {
      throw new ConfigError({
        op: OP, scope: `${fileOf(s)} __metadata__.settings.${field}`, expected: `the same run settings in every shard: ${JSON.stringify(first.settings[field] ?? null)} (as ${fileOf(first)})`,
        got: JSON.stringify(s.settings[field] ?? null), hint: "merge only the shards of one run (same seed, samples, models and sampling settings)",
      });
    }
  }
  const byIndex = new Map<number, EvalSums>();
  for (const s of shards) {
    const seen = byIndex.get(s.shard.index);
    if (seen) throw new ConfigError({ op: OP, scope: `${fileOf(s)} __metadata__.shard`, expected: `each of the ${n} shards exactly once`, got: `shard ${shardName(s.shard)} again (also ${fileOf(seen)})` });
    byIndex.set(s.shard.index, s);
  }
  if (byIndex.size !== n) {
    const missing: string[] = [];
    for (let i = 0; i < n && missing.length < 10; i++) if (!byIndex.has(i)) missing.push(`${i}/${n}`);
    throw new ConfigError({ op: OP, expected: `each of the ${n} shards exactly once`, got: `${shards.length} file(s); missing ${missing.join(", ")}${n - byIndex.size > missing.length ? ` and ${n - byIndex.size - missing.length} more` : ""}` });
  }
  const ordered = [...byIndex.keys()].sort((a, b) => a - b).map((i) => byIndex.get(i)!);
  for (const s of ordered) checkCounts(s);
  return ordered;
}

/** The first settings key (sorted) whose value differs, if any. */
function firstDifference(a: EvalSums["settings"], b: EvalSums["settings"]): string | undefined {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.find((k) => JSON.stringify(a[k] ?? null) !== JSON.stringify(b[k] ?? null));
}

function positiveSetting(s: EvalSums, key: string): number {
  const v = s.settings[key];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) {
    throw new CheckpointError({ op: OP, scope: `${fileOf(s)} __metadata__.settings.${key}`, expected: "a positive integer", got: JSON.stringify(v ?? null), hint: key === "batch" ? "shards written before the batch size was recorded cannot be checked: rerun them" : undefined });
  }
  return v;
}

/** The items of this shard's block of `totalKey` items in global batches. */
function blockSize(s: EvalSums, totalKey: string): number {
  const total = positiveSetting(s, totalKey), batch = positiveSetting(s, "batch");
  try {
    const r = shardBatchRange(total, batch, s.shard);
    return r.end - r.start;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new CheckpointError({ op: OP, scope: `${fileOf(s)} __metadata__.shard`, expected: `at most ${Math.ceil(total / batch)} shards (${totalKey} ${total} in batches of ${batch})`, got: shardName(s.shard) });
  }
}

interface Counted { readonly field: string; readonly count: number | undefined }

function checkCounts(s: EvalSums): void {
  const stat = (k: string): Counted => ({ field: `stats.${k}.count`, count: s.stats.get(k)?.count });
  const total = (k: string): Counted => {
    const v = s.sums.get(k);
    return { field: `sums.${k} (total)`, count: v ? v.reduce((a, x) => a + x, 0) : undefined };
  };
  const rows = (k: string): Counted => ({ field: `logits.${k} (rows)`, count: s.logits.get(k)?.shape[0] });
  const optional = (c: Counted, key: string): Counted[] => (s.stats.has(key) || s.logits.has(key) ? [c] : []);
  const groups: { what: string; expected: number; items: Counted[] }[] = [];
  if (s.kind === "generator") {
    groups.push({
      what: "samples", expected: blockSize(s, "samples"),
      items: [stat("fd_gen"), total("class_count"), rows("classifier"), ...optional(rows("gen_features"), "gen_features"), ...optional(rows("gen_labels"), "gen_labels"), ...optional(stat("fid_gen"), "fid_gen"), ...optional(rows("inception"), "inception")],
    });
    groups.push({
      what: "reference_images", expected: blockSize(s, "reference_images"),
      items: [stat("fd_ref"), ...optional(total("ref_class_count"), "ref_features"), ...optional(rows("ref_features"), "ref_features"), ...optional(rows("ref_labels"), "ref_labels"), ...optional(stat("fid_ref"), "fid_ref")],
    });
    const hits = s.sums.get("class_hits"), seen = s.sums.get("class_count");
    if (!hits || hits.length !== seen?.length) throw new CheckpointError({ op: OP, scope: `${fileOf(s)} sums.class_hits`, expected: `per-class hits beside sums.class_count (${seen?.length ?? "?"} classes)`, got: hits ? `${hits.length} values` : "none" });
  } else {
    const metrics = s.sums.get("image_metrics");
    groups.push({
      what: "images", expected: blockSize(s, "images"),
      items: [stat("fd_real"), stat("fd_fake"), { field: "sums.image_metrics[4] (image count)", count: metrics?.length === 5 ? metrics[4] : undefined }, ...optional(stat("fid_real"), "fid_real"), ...optional(stat("fid_fake"), "fid_fake")],
    });
    if (!s.sums.has("codebook")) throw new CheckpointError({ op: OP, scope: `${fileOf(s)} sums.codebook`, expected: "the codebook histogram", got: "none" });
  }
  for (const g of groups) {
    for (const c of g.items) {
      if (c.count !== g.expected) {
        throw new CheckpointError({
          op: OP, scope: `${fileOf(s)} ${c.field}`, expected: `${g.expected} (shard ${shardName(s.shard)} of ${g.what} ${String(s.settings[g.what])} in batches of ${String(s.settings.batch)})`,
          got: c.count === undefined ? "none" : String(c.count), hint: "the file does not hold the block its header claims: rerun that shard",
        });
      }
    }
  }
}
