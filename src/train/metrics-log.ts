// Metrics as JSON lines (one object per logged step), appended as they come and re-read for
// plots. On resume the log is cut back to the checkpoint's step, so curves never double up.

import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";

export type MetricRecord = { readonly step: number } & Readonly<Record<string, number>>;

export class MetricsLog {
  constructor(readonly path: string) {}

  append(record: MetricRecord): void {
    appendFileSync(this.path, JSON.stringify(record) + "\n");
  }

  read(): MetricRecord[] {
    if (!existsSync(this.path)) return [];
    return readFileSync(this.path, "utf8").split("\n").filter((l) => l.trim()).flatMap((l) => {
      try {
        return [JSON.parse(l) as MetricRecord];
      } catch {
        return []; // a line cut short by a kill
      }
    });
  }

  /** Drops records after `step` (used when resuming from a checkpoint at `step`). */
  truncateAfter(step: number): void {
    const kept = this.read().filter((r) => r.step <= step);
    writeFileSync(this.path, kept.map((r) => JSON.stringify(r) + "\n").join(""));
  }

  /** [step, value] pairs of one metric. */
  series(name: string): [number, number][] {
    return this.read().filter((r) => typeof r[name] === "number").map((r) => [r.step, r[name]!]);
  }
}
