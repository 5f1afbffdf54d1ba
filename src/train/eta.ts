// An ETA for the whole run: the remaining steps at the recent step time (a window, so a phase that
// changes the step cost, e.g. the discriminator starting, shows up within a few dozen steps), plus
// the remaining evaluations, sample grids and saves at their measured average cost. Compile time
// of the first step is not extrapolated (it is outside the window once the window is full).

export class RunClock {
  private readonly recent: number[] = [];
  private readonly costs = new Map<string, { total: number; count: number }>();

  constructor(readonly totalSteps: number, private readonly window = 50) {}

  step(seconds: number): void {
    this.recent.push(seconds);
    if (this.recent.length > this.window) this.recent.shift();
  }

  /** The cost of a periodic task (eval, samples, save). */
  task(name: string, seconds: number): void {
    const c = this.costs.get(name) ?? { total: 0, count: 0 };
    this.costs.set(name, { total: c.total + seconds, count: c.count + 1 });
  }

  /** Seconds left after `done` steps; `every` gives each task's interval in steps. */
  eta(done: number, every: Readonly<Record<string, number>>): number {
    if (this.recent.length === 0) return Infinity;
    // The first measured step includes compiling; drop it once there are others.
    const xs = this.recent.length > 1 && done <= this.window ? this.recent.slice(1) : this.recent;
    const perStep = xs.reduce((a, v) => a + v, 0) / xs.length;
    const left = Math.max(0, this.totalSteps - done);
    let seconds = left * perStep;
    for (const [name, n] of Object.entries(every)) {
      const c = this.costs.get(name);
      if (!c || !(n > 0)) continue;
      // Tasks also run at the last step.
      const runs = Math.floor(this.totalSteps / n) - Math.floor(done / n) + (this.totalSteps % n !== 0 && left > 0 ? 1 : 0);
      seconds += Math.max(0, runs) * (c.total / c.count);
    }
    return seconds;
  }
}

/** "17:42 UTC" (or with the date when not today) for a time `seconds` from now. */
export function finishTime(seconds: number, now = new Date()): string {
  if (!Number.isFinite(seconds)) return "?";
  const t = new Date(now.getTime() + seconds * 1000);
  const hm = `${String(t.getUTCHours()).padStart(2, "0")}:${String(t.getUTCMinutes()).padStart(2, "0")} UTC`;
  return t.toISOString().slice(0, 10) === now.toISOString().slice(0, 10) ? hm : `${t.toISOString().slice(0, 10)} ${hm}`;
}
