// Result tables: one JSON document and one Markdown file per experiment, written atomically.

import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export type Cell = string | number | null;

export interface Table {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
  /** Lines printed under the table (paper numbers, caveats). */
  readonly notes?: readonly string[];
}

export interface ExperimentResult {
  readonly experiment: string;
  readonly budget: string;
  readonly dataset: string;
  readonly seeds: number;
  readonly wallSeconds: number;
  readonly machine: string;
  readonly tables: readonly Table[];
  readonly figures: readonly string[];
  /** Anything else worth keeping (per-seed values, settings). */
  readonly details: Readonly<Record<string, unknown>>;
}

export function writeAtomic(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

const cell = (c: Cell): string => (c === null ? "–" : typeof c === "number" ? (Number.isInteger(c) ? String(c) : c.toPrecision(4)) : c);

export function tableMarkdown(t: Table): string {
  const lines = [`### ${t.title}`, "", `| ${t.columns.join(" | ")} |`, `|${t.columns.map(() => "---").join("|")}|`];
  for (const r of t.rows) lines.push(`| ${r.map(cell).join(" | ")} |`);
  if (t.notes?.length) lines.push("", ...t.notes.map((n) => `- ${n}`));
  return lines.join("\n") + "\n";
}

/** Writes <dir>/results.json and <dir>/results.md; returns their paths. */
export function writeResults(dir: string, r: ExperimentResult): { json: string; markdown: string } {
  const json = join(dir, "results.json"), markdown = join(dir, "results.md");
  writeAtomic(json, JSON.stringify(r, null, 1) + "\n");
  const head = [
    `## ${r.experiment} (${r.dataset}, budget ${r.budget}, ${r.seeds} seed${r.seeds === 1 ? "" : "s"})`, "",
    `Wall time ${(r.wallSeconds / 60).toFixed(1)} min on ${r.machine}.`, "",
  ];
  const figs = r.figures.length ? ["", "Figures:", ...r.figures.map((f) => `- ![${f}](${f})`), ""] : [];
  writeAtomic(markdown, [...head, ...r.tables.map(tableMarkdown), ...figs].join("\n"));
  return { json, markdown };
}
