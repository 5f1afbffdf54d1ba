// Seed statistics and the comparisons the tables print: mean and sample standard deviation over
// seeds, and whether two means are separated by more than their seeds' spread.

export interface Spread {
  readonly mean: number;
  /** Sample standard deviation (n - 1); 0 for a single seed. */
  readonly std: number;
  readonly n: number;
  readonly values: readonly number[];
}

export function spread(values: readonly number[]): Spread {
  const n = values.length;
  const mean = n ? values.reduce((a, b) => a + b, 0) / n : NaN;
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n, values: [...values] };
}

/**
 * "inside" when |mean_a - mean_b| <= std_a + std_b (the two one-sigma bands overlap), "outside"
 * otherwise, "single seed" when either side has one value (no spread to compare against).
 */
export function separation(a: Spread, b: Spread): "inside seed spread" | "outside seed spread" | "single seed" {
  if (a.n < 2 || b.n < 2) return "single seed";
  return Math.abs(a.mean - b.mean) <= a.std + b.std ? "inside seed spread" : "outside seed spread";
}

export const fmtSpread = (s: Spread, digits = 3): string =>
  s.n > 1 ? `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}` : s.mean.toFixed(digits);

/** Spearman rank correlation (average ranks for ties). */
export function spearman(x: readonly number[], y: readonly number[]): number {
  const rank = (v: readonly number[]) => {
    const order = v.map((value, i) => ({ value, i })).sort((a, b) => a.value - b.value);
    const r = new Array<number>(v.length);
    for (let s = 0; s < order.length;) {
      let e = s;
      while (e + 1 < order.length && order[e + 1]!.value === order[s]!.value) e++;
      for (let k = s; k <= e; k++) r[order[k]!.i] = (s + e) / 2;
      s = e + 1;
    }
    return r;
  };
  const rx = rank(x), ry = rank(y);
  const mx = rx.reduce((a, b) => a + b, 0) / rx.length, my = ry.reduce((a, b) => a + b, 0) / ry.length;
  let num = 0, dx = 0, dy = 0;
  for (let i = 0; i < rx.length; i++) {
    num += (rx[i]! - mx) * (ry[i]! - my);
    dx += (rx[i]! - mx) ** 2;
    dy += (ry[i]! - my) ** 2;
  }
  return dx && dy ? num / Math.sqrt(dx * dy) : 0;
}
