// Merges the JSON outputs of several `maskbit sweep` runs made with one protocol (same generator,
// samples per class, seed, reference, k and score weights: rows are then comparable, since each
// setting draws the same labels and seeds) into one table, and rewrites JSON, Markdown and PNG;
// --write-defaults stores the merged best in a copy of the generator, as `maskbit sweep` does.
//
//   npx tsx scripts/merge-sweeps.ts <sweep.json>... --out <prefix> [--write-defaults <file>] [--overwrite]

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError } from "../src/engine/errors.js";
import { sweepMarkdown, type SweepResult } from "../src/eval/sampling-sweep.js";
import { checkDefaultsTarget, plotSweep, settingLabel, writeAtomic, writeGeneratorWithDefaults } from "../src/cli/sweep-output.js";

type SweepFile = SweepResult & { generator: string; tokenizer: string };
const PROTOCOL = ["generator", "samples", "per_class", "seed", "reference_images", "k", "score"] as const;

const { values: v, positionals: files } = parseArgs({ allowPositionals: true, options: { out: { type: "string" }, "write-defaults": { type: "string" }, overwrite: { type: "boolean", default: false } } });
if (files.length === 0 || v.out === undefined) throw new ConfigError({ op: "merge-sweeps", expected: "<sweep.json>... --out <prefix>", got: process.argv.slice(2).join(" ") });
const runs = files.map((f) => JSON.parse(readFileSync(f, "utf8")) as SweepFile);
const first = runs[0]!;
for (const [i, r] of runs.entries()) {
  for (const k of PROTOCOL) {
    if (r[k] !== first[k]) throw new ConfigError({ op: "merge-sweeps", scope: files[i], expected: `${k} = ${JSON.stringify(first[k])} (as ${files[0]})`, got: JSON.stringify(r[k]) });
  }
}
if (v["write-defaults"] !== undefined) checkDefaultsTarget(first.generator, v["write-defaults"], v.overwrite);
const seen = new Set<string>();
const rows = runs.flatMap((r) => r.rows).filter((row) => {
  const key = settingLabel(row.setting);
  if (seen.has(key)) return false; // the same setting measured twice gives the same row
  seen.add(key);
  return true;
});
const best = rows.reduce((bi, r, i) => (r.score < rows[bi]!.score ? i : bi), 0);
const merged: SweepFile = { ...first, rows, best };
writeAtomic(`${v.out}.json`, JSON.stringify({ ...merged, merged_from: files, best_setting: rows[best]!.setting }, null, 2) + "\n");
writeAtomic(`${v.out}.md`, sweepMarkdown(merged));
plotSweep(`${v.out}.png`, merged);
console.error(`best of ${rows.length}: ${settingLabel(rows[best]!.setting)} (score ${rows[best]!.score.toFixed(3)})`);
if (v["write-defaults"] !== undefined) {
  await writeGeneratorWithDefaults(first.generator, v["write-defaults"], rows[best]!.setting, v.overwrite);
  console.error(`wrote ${v["write-defaults"]}`);
}
