// A terminal progress bar (Node-only: it writes to a TTY stream), shared by the CLI and the trainers:
// step/total, rate, ETA and a few live figures (loss, ...). On a TTY it redraws one line; otherwise
// (CI, logs) it prints a line every `everyMs`.

export interface ProgressOptions {
  readonly label: string;
  readonly total: number;
  readonly stream?: NodeJS.WriteStream;
  readonly everyMs?: number;
  /** Start count, e.g. when a run resumes at step 1200 of 2000. */
  readonly start?: number;
}

export class ProgressBar {
  private done: number;
  private readonly t0 = Date.now();
  private readonly startCount: number;
  private lastPrint = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private etaOverride: number | undefined;

  constructor(private readonly o: ProgressOptions) {
    this.stream = o.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.done = o.start ?? 0;
    this.startCount = this.done;
  }

  /** `etaSeconds`: the caller's own estimate for the rest of the run (default: from the mean rate so far). */
  update(done: number, figures: Readonly<Record<string, number | string>> = {}, etaSeconds?: number): void {
    this.done = done;
    this.etaOverride = etaSeconds;
    const now = Date.now();
    const final = done >= this.o.total;
    if (!final && now - this.lastPrint < (this.tty ? 100 : this.o.everyMs ?? 10_000)) return;
    this.lastPrint = now;
    const line = this.render(figures, now);
    if (this.tty) this.stream.write(`\r\x1b[2K${line}${final ? "\n" : ""}`);
    else this.stream.write(`${line}\n`);
  }

  render(figures: Readonly<Record<string, number | string>>, now = Date.now()): string {
    const { total, label } = this.o;
    const frac = total > 0 ? Math.min(this.done / total, 1) : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const elapsed = (now - this.t0) / 1000;
    const rate = (this.done - this.startCount) / Math.max(elapsed, 1e-9);
    const eta = this.etaOverride ?? (rate > 0 ? (total - this.done) / rate : Infinity);
    const figs = Object.entries(figures).map(([k, v]) => `${k} ${typeof v === "number" ? fmtNumber(v) : v}`).join("  ");
    return `${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${this.done}/${total}  ${fmtTime(elapsed)} elapsed, ETA ${fmtTime(eta)}${figs ? "  " + figs : ""}`;
  }
}

export function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return h ? `${h}h${String(m).padStart(2, "0")}m` : m ? `${m}m${String(sec).padStart(2, "0")}s` : `${s.toFixed(1)}s`;
}

function fmtNumber(v: number): string {
  return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4);
}

/** A renderer for training progress events (src/train/loop.ts TrainProgress): one bar per run. */
export function progressBar(stream?: NodeJS.WriteStream): (e: { label: string; step: number; total: number; start: number; loss?: number; etaSeconds?: number }) => void {
  let bar: ProgressBar | undefined;
  return (e) => {
    bar ??= new ProgressBar({ label: e.label, total: e.total, start: e.start, ...(stream ? { stream } : {}) });
    if (e.step > e.start || e.loss !== undefined) bar.update(e.step, e.loss !== undefined ? { loss: e.loss } : {}, e.etaSeconds);
  };
}
