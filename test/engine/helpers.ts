// Shared helpers for the engine tests: random host tensors from a seeded Rng, running a graph
// once, comparing against plain-JS references, and small naive reference kernels.

import assert from "node:assert/strict";
import { Graph, type Tensor } from "../../src/engine/graph/tensor.js";
import type { DType } from "../../src/engine/graph/dtype.js";
import { HostTensor, shapeSize } from "../../src/engine/host-tensor.js";
import { CompiledGraph, type ParamSource } from "../../src/engine/runtime/session.js";
import { Rng } from "../../src/engine/rng.js";
import { checkGradients, type GradCheckOptions } from "../../src/engine/autodiff/check.js";
import type { ConvAttrs, ConvTransposeAttrs } from "../../src/engine/ops/conv.js";

export { Rng };

/** "[2,3,4]" for test names. */
export const fmt = (shape: readonly (number | string)[]): string => `[${shape.join(",")}]`;

// --- random data ---------------------------------------------------------------------------

/** float32 tensor with N(0, scale^2) entries. */
export function randn(rng: Rng, shape: readonly number[], scale = 1): HostTensor<Float32Array> {
  return HostTensor.f32(Array.from({ length: shapeSize(shape) }, () => rng.normal() * scale), shape);
}

/** float32 tensor uniform in [lo, hi). */
export function randu(rng: Rng, shape: readonly number[], lo = 0, hi = 1): HostTensor<Float32Array> {
  return HostTensor.f32(Array.from({ length: shapeSize(shape) }, () => lo + (hi - lo) * rng.uniform()), shape);
}

/** float32 tensor whose entries are at least `minAbs` away from zero (for kinks at 0). */
export function randAwayFromZero(rng: Rng, shape: readonly number[], minAbs = 0.2): HostTensor<Float32Array> {
  return HostTensor.f32(Array.from({ length: shapeSize(shape) }, () => (rng.uniform() < 0.5 ? -1 : 1) * (minAbs + Math.abs(rng.normal()))), shape);
}

/**
 * Several float32 tensors whose entries are pairwise at least `gap` apart (a shuffled grid plus a
 * little jitter), so max/min/argmax choices do not flip under finite-difference probes.
 */
export function randDistinct(rng: Rng, shapes: readonly (readonly number[])[], gap = 0.2): HostTensor<Float32Array>[] {
  const total = shapes.reduce((n, s) => n + shapeSize(s), 0);
  const grid = rng.shuffle(Array.from({ length: total }, (_, i) => (i - total / 2) * gap + rng.uniform() * gap * 0.1));
  let k = 0;
  return shapes.map((s) => HostTensor.f32(grid.slice(k, (k += shapeSize(s))), s));
}

/** int64 tensor with entries in [0, n). */
export function randIndex(rng: Rng, shape: readonly number[], n: number): HostTensor<BigInt64Array> {
  return HostTensor.i64(Array.from({ length: shapeSize(shape) }, () => rng.int(n)), shape);
}

/** A random shape of the given rank with dims in [lo, hi]. */
export function randShape(rng: Rng, rank: number, lo = 1, hi = 4): number[] {
  return Array.from({ length: rank }, () => lo + rng.int(hi - lo + 1));
}

/** Integer in [lo, hi]. */
export const randInt = (rng: Rng, lo: number, hi: number): number => lo + rng.int(hi - lo + 1);

/**
 * Two shapes that broadcast to `out`: each may drop leading dims and set dims to 1.
 */
export function randBroadcastPair(rng: Rng, out: readonly number[]): [number[], number[]] {
  const derive = () => {
    const drop = rng.int(out.length + 1);
    return out.slice(drop).map((d) => (rng.uniform() < 0.35 ? 1 : d));
  };
  return [derive(), derive()];
}

// --- running graphs ------------------------------------------------------------------------

/** Compiles `outputs` (single-threaded), runs once, disposes. */
export async function runGraph(
  graph: Graph,
  outputs: Readonly<Record<string, Tensor>>,
  feeds: Readonly<Record<string, HostTensor>> = {},
  params?: ParamSource,
): Promise<Record<string, HostTensor>> {
  const session = await CompiledGraph.create(graph, outputs, { threads: 1 });
  try {
    return await session.run(feeds, params);
  } finally {
    await session.dispose();
  }
}

/**
 * Builds a graph whose inputs x0, x1, ... hold `inputs`, applies `f`, runs it once and returns
 * the outputs in order.
 */
export async function evaluate(f: (...xs: Tensor[]) => Tensor | readonly Tensor[], inputs: readonly HostTensor[]): Promise<HostTensor[]> {
  const g = new Graph();
  const xs = inputs.map((h, i) => g.input(`x${i}`, h.dtype, h.shape));
  const out = f(...xs);
  const outs = Array.isArray(out) ? (out as readonly Tensor[]) : [out as Tensor];
  const res = await runGraph(g, Object.fromEntries(outs.map((t, i) => [`y${i}`, t])), Object.fromEntries(inputs.map((h, i) => [`x${i}`, h])));
  return outs.map((_, i) => res[`y${i}`]!);
}

/** evaluate with a single output. */
export async function evaluate1(f: (...xs: Tensor[]) => Tensor, inputs: readonly HostTensor[]): Promise<HostTensor> {
  return (await evaluate(f, inputs))[0]!;
}

/** Builds only the graph (no run): for shape-rule tests. */
export function symbolic(inputs: readonly { dtype: DType; shape: readonly (number | string)[] }[]): { g: Graph; xs: Tensor[] } {
  const g = new Graph();
  return { g, xs: inputs.map((s, i) => g.input(`x${i}`, s.dtype, s.shape)) };
}

// --- comparisons ---------------------------------------------------------------------------

/** A plain-JS reference result. */
export interface Ref {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

export const ref = (shape: readonly number[], data: ArrayLike<number>): Ref => {
  assert.equal(data.length, shapeSize(shape), `reference data length for ${fmt(shape)}`);
  return { shape, data };
};

export interface CloseOpts {
  readonly rtol?: number;
  readonly atol?: number;
}

/** Asserts shape equality (when `expected` has one) and |a - e| <= atol + rtol |e| elementwise. */
export function assertClose(actual: HostTensor, expected: Ref | HostTensor | ArrayLike<number>, opts: CloseOpts = {}, label = ""): void {
  const rtol = opts.rtol ?? 1e-5, atol = opts.atol ?? 1e-5;
  const pre = label ? `${label}: ` : "";
  let exp: ArrayLike<number>;
  if (expected instanceof HostTensor) {
    assert.deepEqual([...actual.shape], [...expected.shape], `${pre}shape`);
    exp = expected.toNumbers();
  } else if ("shape" in expected && "data" in expected) {
    assert.deepEqual([...actual.shape], [...expected.shape], `${pre}shape`);
    exp = expected.data;
  } else {
    exp = expected as ArrayLike<number>;
  }
  const act = actual.toNumbers();
  assert.equal(act.length, exp.length, `${pre}element count`);
  for (let i = 0; i < act.length; i++) {
    const a = act[i]!, e = exp[i]!;
    if (Number.isNaN(e) ? !Number.isNaN(a) : !(Math.abs(a - e) <= atol + rtol * Math.abs(e)) && a !== e) {
      assert.fail(`${pre}element ${i} (index ${fmt(unravel(i, actual.shape))}): got ${a}, expected ${e} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

/** Exact equality of values (ints, bools) and shape. */
export function assertEqualValues(actual: HostTensor, expected: Ref, label = ""): void {
  assert.deepEqual([...actual.shape], [...expected.shape], `${label} shape`);
  assert.deepEqual(actual.toNumbers(), Array.from(expected.data), `${label} values`);
}

/** Runs checkGradients and fails with its report unless every probe agrees. */
export async function assertGradients(f: (...xs: Tensor[]) => Tensor, inputs: readonly HostTensor[], opts: GradCheckOptions = {}): Promise<void> {
  const report = await checkGradients(f, inputs, opts);
  assert.ok(Number.isFinite(report.worst), `gradient check produced a non-finite error measure (${report.worst})`);
  assert.deepEqual(report.failures, [], `gradient check failed (worst err/tol ${report.worst.toFixed(3)}):\n  ${report.failures.join("\n  ")}`);
}

/** Asserts `fn` throws an instance of `cls` whose fields include the given substrings. */
export function assertThrowsFields(
  fn: () => unknown,
  cls: new (...args: never[]) => Error,
  fields: { op?: string; expected?: string | readonly string[]; got?: string | readonly string[]; scope?: string } = {},
): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected ${cls.name} but nothing was thrown`);
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${(caught as Error).name}: ${(caught as Error).message}`);
  const err = caught as Error & { op?: string; expected?: string; got?: string; scope?: string };
  if (fields.op !== undefined) assert.equal(err.op, fields.op, "error op");
  if (fields.scope !== undefined) assert.equal(err.scope, fields.scope, "error scope");
  for (const key of ["expected", "got"] as const) {
    const want = fields[key];
    if (want === undefined) continue;
    for (const w of typeof want === "string" ? [want] : want) assert.ok(err[key]?.includes(w), `error ${key} "${err[key]}" should mention "${w}"`);
  }
  for (const key of ["expected", "got"] as const) assert.ok(err.message.includes(err[key] ?? ""), `message carries the ${key} field`);
}

// --- index arithmetic and reference kernels -------------------------------------------------

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let n = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = n;
    n *= shape[i]!;
  }
  return s;
}

export function unravel(i: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    const d = shape[k]!;
    out[k] = d === 0 ? 0 : i % d;
    i = d === 0 ? 0 : Math.floor(i / d);
  }
  return out;
}

export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let n = 0;
  for (let k = 0; k < shape.length; k++) n = n * shape[k]! + idx[k]!;
  return n;
}

export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, i) => {
    const da = a[i - (r - a.length)] ?? 1, db = b[i - (r - b.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`reference: ${fmt(a)} and ${fmt(b)} do not broadcast`);
    return da === 1 ? db : da;
  });
}

/** Index into `shape` for an output index of a broadcast result. */
export function broadcastIndex(outIdx: readonly number[], shape: readonly number[]): number {
  const lead = outIdx.length - shape.length;
  return ravel(shape.map((d, k) => (d === 1 ? 0 : outIdx[k + lead]!)), shape);
}

/** Elementwise op over any number of broadcasting operands. */
export function refElementwise(xs: readonly Ref[], fn: (...v: number[]) => number): Ref {
  const shape = xs.map((x) => x.shape).reduce((a, b) => broadcastShape(a, b), [] as readonly number[]) as number[];
  const data = Array.from({ length: shapeSize(shape) }, (_, i) => {
    const idx = unravel(i, shape);
    return fn(...xs.map((x) => x.data[broadcastIndex(idx, x.shape)]!));
  });
  return { shape, data };
}

export const asRef = (h: HostTensor): Ref => ({ shape: h.shape, data: h.toNumbers() });

export function refTranspose(x: Ref, perm: readonly number[]): Ref {
  const shape = perm.map((p) => x.shape[p]!);
  const data = Array.from({ length: shapeSize(shape) }, (_, i) => {
    const o = unravel(i, shape);
    const src = new Array<number>(x.shape.length);
    perm.forEach((p, k) => (src[p] = o[k]!));
    return x.data[ravel(src, x.shape)]!;
  });
  return { shape, data };
}

/** Naive NCHW / OIHW convolution with explicit [top, left, bottom, right] pads. */
export function refConv2d(x: Ref, w: Ref, a: ConvAttrs, bias?: Ref): Ref {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [o, cg, kh, kw] = w.shape as [number, number, number, number];
  const [sh, sw] = a.strides, [dh, dw] = a.dilations, [pt, pl, pb, pr] = a.pads;
  assert.equal(c, cg * a.group, "reference conv channels");
  const og = o / a.group;
  const ho = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const wo = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const out = new Float64Array(n * o * ho * wo);
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++) {
      const grp = Math.floor(oc / og);
      for (let i = 0; i < ho; i++)
        for (let j = 0; j < wo; j++) {
          let s = bias ? bias.data[oc]! : 0;
          for (let ci = 0; ci < cg; ci++)
            for (let p = 0; p < kh; p++)
              for (let q = 0; q < kw; q++) {
                const yi = i * sh + p * dh - pt, xj = j * sw + q * dw - pl;
                if (yi < 0 || yi >= h || xj < 0 || xj >= wd) continue;
                s += x.data[((b * c + grp * cg + ci) * h + yi) * wd + xj]! * w.data[((oc * cg + ci) * kh + p) * kw + q]!;
              }
          out[((b * o + oc) * ho + i) * wo + j] = s;
        }
    }
  return { shape: [n, o, ho, wo], data: out };
}

/** Naive transposed convolution (scatter form); w is [C, O/group, kH, kW]. */
export function refConvTranspose2d(x: Ref, w: Ref, a: ConvTransposeAttrs): Ref {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [cw, og, kh, kw] = w.shape as [number, number, number, number];
  assert.equal(c, cw, "reference convTranspose channels");
  const cg = c / a.group, o = og * a.group;
  const [sh, sw] = a.strides, [dh, dw] = a.dilations, [pt, pl, pb, pr] = a.pads;
  const ho = (h - 1) * sh + dh * (kh - 1) + 1 - pt - pb + a.outputPadding[0];
  const wo = (wd - 1) * sw + dw * (kw - 1) + 1 - pl - pr + a.outputPadding[1];
  const out = new Float64Array(n * o * ho * wo);
  for (let b = 0; b < n; b++)
    for (let ci = 0; ci < c; ci++) {
      const grp = Math.floor(ci / cg);
      for (let i = 0; i < h; i++)
        for (let j = 0; j < wd; j++) {
          const v = x.data[((b * c + ci) * h + i) * wd + j]!;
          for (let oo = 0; oo < og; oo++)
            for (let p = 0; p < kh; p++)
              for (let q = 0; q < kw; q++) {
                const yi = i * sh + p * dh - pt, xj = j * sw + q * dw - pl;
                if (yi < 0 || yi >= ho || xj < 0 || xj >= wo) continue;
                out[((b * o + grp * og + oo) * ho + yi) * wo + xj]! += v * w.data[((ci * og + oo) * kh + p) * kw + q]!;
              }
        }
    }
  return { shape: [n, o, ho, wo], data: out };
}

/** Reduction over `axes` with a fold (sum / max ...) and optional finaliser (mean). */
export function refReduce(x: Ref, axes: readonly number[], keepdims: boolean, kind: "sum" | "mean" | "max"): Ref {
  const r = x.shape.length;
  const ax = axes.map((a) => (a < 0 ? a + r : a));
  const keptShape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const acc = new Float64Array(shapeSize(keptShape)).fill(kind === "max" ? -Infinity : 0);
  let count = 1;
  for (const a of ax) count *= x.shape[a]!;
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape).map((v, k) => (ax.includes(k) ? 0 : v));
    const j = ravel(idx, keptShape);
    acc[j] = kind === "max" ? Math.max(acc[j]!, x.data[i]!) : acc[j]! + x.data[i]!;
  }
  if (kind === "mean") for (let j = 0; j < acc.length; j++) acc[j]! /= count;
  return { shape: keepdims ? keptShape : x.shape.filter((_, i) => !ax.includes(i)), data: acc };
}

/** Erf to ~1e-12 (series for small |x|, continued fraction for large). */
export function erfRef(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let sum = ax, term = ax;
    for (let n = 1; n < 100; n++) {
      term *= (-ax * ax) / n;
      sum += term / (2 * n + 1);
      if (Math.abs(term) < 1e-17) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction (Lentz)
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}
