// Float64 vectors summed so that the grouping of the terms does not show in the result. A sharded
// evaluation adds the same per-batch terms as the unsharded one (shards take whole global batches),
// but groups them differently: ((b0 + b1) + (b2 + b3)) instead of (((b0 + b1) + b2) + b3), and
// plain float64 addition is not associative (the 11th digit differed). Here every element is a
// pair (hi, lo) with hi + lo carrying the running sum to about 106 bits: each addition's rounding
// error is recovered exactly (TwoSum, Knuth) into lo, merges add both parts, and value() rounds
// hi + lo once. What is exact: the result is the float64 nearest to the exact sum of the terms, and
// so independent of grouping, unless that exact sum lies within about (terms^2 * 2^-106) * sum|terms|
// of a point halfway between two float64 values (lo's own additions round at that level).

export class CompensatedSum {
  readonly hi: Float64Array;
  readonly lo: Float64Array;

  constructor(length: number, hi?: Float64Array, lo?: Float64Array) {
    this.hi = hi ?? new Float64Array(length);
    this.lo = lo ?? new Float64Array(length);
  }

  get length(): number { return this.hi.length; }

  /** Adds the terms elementwise. */
  add(v: ArrayLike<number>): void {
    const hi = this.hi, lo = this.lo;
    for (let i = 0; i < hi.length; i++) {
      const a = hi[i]!, b = v[i]!, s = a + b, bb = s - a;
      lo[i]! += (a - (s - bb)) + (b - bb);
      hi[i] = s;
    }
  }

  /** Adds another accumulator (both parts) into this one. */
  merge(other: CompensatedSum): void {
    this.add(other.hi);
    for (let i = 0; i < this.lo.length; i++) this.lo[i]! += other.lo[i]!;
  }

  /** The sums, rounded once to float64. */
  value(): Float64Array {
    const out = new Float64Array(this.hi.length);
    for (let i = 0; i < out.length; i++) out[i] = this.hi[i]! + this.lo[i]!;
    return out;
  }
}
