// Parameter values by state-dict key: initialised from a graph's ParamSpecs (PyTorch-compatible
// recipes) or loaded strictly from a checkpoint, where every missing, unexpected or mis-shaped
// key is reported at once.

import type { Graph, ParamSpec } from "./graph/tensor.js";
import { HostTensor, shapeSize } from "./host-tensor.js";
import { Rng } from "./rng.js";
import { CheckpointError, fmtShape } from "./errors.js";
import type { ParamSource } from "./runtime/session.js";

export class ParamStore implements ParamSource {
  readonly values = new Map<string, HostTensor>();
  private revisionCount = 0;

  constructor(entries?: Iterable<[string, HostTensor]>) {
    if (entries) for (const [k, v] of entries) this.values.set(k, v);
  }

  get(key: string): HostTensor | undefined { return this.values.get(key); }
  /** Replaces a value and bumps `revision`, so sessions with these weights resident are rebuilt. */
  set(key: string, value: HostTensor): void {
    this.values.set(key, value);
    this.revisionCount++;
  }
  /**
   * Counts set() calls: inference sessions bake the weights in when they compile and recompile
   * once this changes. Writing into a value's array in place is not seen; set() the tensor instead.
   */
  get revision(): number { return this.revisionCount; }
  keys(): string[] { return [...this.values.keys()]; }
  get size(): number { return this.values.size; }

  /** Fresh values for every parameter and buffer of the graphs (PyTorch-style default inits). */
  static init(specs: Iterable<ParamSpec>, seed: number): ParamStore {
    const rng = new Rng(seed);
    const store = new ParamStore();
    for (const spec of specs) store.set(spec.key, initValue(spec, rng));
    return store;
  }

  /**
   * Takes exactly the keys of `specs` from `source`. Throws one CheckpointError listing every
   * missing key, unexpected key, shape or dtype mismatch and NaN or infinite weight (one cheap pass
   * over the values: broken weights otherwise sample "successfully" as all-zero ids).
   */
  static loadStrict(specs: Iterable<ParamSpec>, source: ReadonlyMap<string, HostTensor>, what = "checkpoint"): ParamStore {
    const store = new ParamStore();
    const problems: string[] = [];
    const expected = new Set<string>();
    for (const spec of specs) {
      expected.add(spec.key);
      const v = source.get(spec.key);
      if (!v) problems.push(`missing ${spec.key} ${spec.dtype}${fmtShape(spec.shape)}`);
      else if (v.dtype !== spec.dtype || fmtShape(v.shape) !== fmtShape(spec.shape)) {
        problems.push(`${spec.key}: expected ${spec.dtype}${fmtShape(spec.shape)}, found ${v.dtype}${fmtShape(v.shape)}`);
      } else {
        const bad = firstNonFiniteIndex(v);
        if (bad >= 0) problems.push(`${spec.key}: non-finite value ${(v.data as Float32Array)[bad]} at flat index ${bad}`);
        else store.set(spec.key, v);
      }
    }
    for (const [k, v] of source) if (!expected.has(k)) problems.push(`unexpected ${k} ${v.dtype}${fmtShape(v.shape)}`);
    if (problems.length) {
      throw new CheckpointError({
        op: "loadStrict", scope: what,
        expected: `exactly the model's ${expected.size} keys`,
        got: `${problems.length} problem(s):\n  ${problems.join("\n  ")}`,
        hint: "is the config the one this checkpoint was trained with?",
      });
    }
    return store;
  }

  /** A deep copy (e.g. to start an EMA shadow). */
  clone(): ParamStore {
    return new ParamStore([...this.values].map(([k, v]) => [k, v.clone()]));
  }
}

/** Index of the first NaN or +-Infinity of a float tensor, or -1. */
export function firstNonFiniteIndex(t: HostTensor): number {
  if (t.dtype !== "float32" && t.dtype !== "float64") return -1;
  const d = t.data as Float32Array | Float64Array;
  // v - v is NaN exactly for NaN and +-Infinity.
  for (let i = 0; i < d.length; i++) if (d[i]! - d[i]! !== 0) return i;
  return -1;
}

/** Every ParamSpec of one or more graphs, deduplicated by key (shared weights appear once). */
export function specsOf(...graphs: Graph[]): ParamSpec[] {
  const out = new Map<string, ParamSpec>();
  for (const g of graphs) for (const s of g.paramSpecs.values()) if (!out.has(s.key)) out.set(s.key, s);
  return [...out.values()];
}

function initValue(spec: ParamSpec, rng: Rng): HostTensor {
  const n = shapeSize(spec.shape);
  const init = spec.init;
  switch (init.kind) {
    case "value": {
      const v = init.value();
      if (fmtShape(v.shape) !== fmtShape(spec.shape)) throw new CheckpointError({ op: "ParamStore.init", scope: spec.key, expected: fmtShape(spec.shape), got: fmtShape(v.shape) });
      return v;
    }
    case "constant": {
      const t = HostTensor.zeros(spec.dtype, spec.shape);
      (t.data as Float32Array).fill(init.value);
      return t;
    }
    case "uniform": {
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = (2 * rng.uniform() - 1) * init.bound;
      return new HostTensor("float32", spec.shape, data);
    }
    case "normal": {
      const data = new Float32Array(n);
      const cut = init.truncate ?? Infinity;
      for (let i = 0; i < n; i++) {
        let v: number;
        do v = rng.normal() * init.std; while (Math.abs(v) > cut);
        data[i] = v;
      }
      return new HostTensor("float32", spec.shape, data);
    }
  }
}
