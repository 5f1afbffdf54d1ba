// Best-checkpoint selection: after each periodic evaluation the loop offers the record here; when
// the trainer's selection metric improves, the inference model is exported into <run>/best/ with a
// best.json saying which step and value it is. The new directory is written beside the old one
// and swapped in by renames, so a kill leaves either the old or the new best, never a mix.

import { existsSync, readFileSync, renameSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

export interface Selection {
  /** Key of the evaluation record to compare. */
  readonly key: string;
  readonly mode: "min" | "max";
}

export interface BestRecord {
  readonly step: number;
  readonly key: string;
  readonly mode: "min" | "max";
  readonly value: number;
  /** The whole evaluation record of that step. */
  readonly metrics: Readonly<Record<string, number>>;
}

export const BEST_DIR = "best";

export class BestCheckpoint {
  private best: BestRecord | null;

  /** `resume`: keep the best of the run so far; a new run clears a stale best/ left by a crashed start. */
  constructor(private readonly out: string, readonly selection: Selection, resume: boolean) {
    const file = join(out, BEST_DIR, "best.json");
    this.best = null;
    if (!resume) rmSync(join(out, BEST_DIR), { recursive: true, force: true });
    else if (existsSync(file)) {
      const r = JSON.parse(readFileSync(file, "utf8")) as BestRecord;
      if (r.key === selection.key && r.mode === selection.mode && Number.isFinite(r.value)) this.best = r;
    }
  }

  get current(): BestRecord | null { return this.best; }

  /** Exports a new best when `record[key]` beats the best so far; returns whether it did. */
  async consider(step: number, record: Readonly<Record<string, number>>, exportModel: (dir: string) => Promise<string>): Promise<boolean> {
    const v = record[this.selection.key];
    if (v === undefined || !Number.isFinite(v)) return false;
    const b = this.best;
    if (b && !(this.selection.mode === "min" ? v < b.value : v > b.value)) return false;
    const dir = join(this.out, BEST_DIR), fresh = `${dir}.new`, old = `${dir}.old`;
    rmSync(fresh, { recursive: true, force: true });
    mkdirSync(fresh, { recursive: true });
    await exportModel(fresh);
    const rec: BestRecord = { step, key: this.selection.key, mode: this.selection.mode, value: v, metrics: { ...record } };
    writeFileSync(join(fresh, "best.json"), JSON.stringify(rec, null, 2) + "\n");
    rmSync(old, { recursive: true, force: true });
    if (existsSync(dir)) renameSync(dir, old);
    renameSync(fresh, dir);
    rmSync(old, { recursive: true, force: true });
    this.best = rec;
    return true;
  }
}
