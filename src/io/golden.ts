// The shared golden fixtures: one directory per case with case.json, tensors.safetensors and maybe
// weights.safetensors (format in shared/golden/README.md). Loading checks every file against what
// case.json declares, so a stale or mismatched fixture fails here instead of deep inside a model test.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { HostTensor, shapeSize } from "../engine/host-tensor.js";
import { isFloat, type DType } from "../engine/graph/dtype.js";
import { CheckpointError, fmtShape } from "../engine/errors.js";
import { errorText, readSafetensors } from "./safetensors.js";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
/** A state-dict entry in the official order: [key, dtype, shape]. */
export type WeightKey = readonly [key: string, dtype: DType, shape: readonly number[]];

export interface GoldenCase {
  readonly dir: string;
  readonly name: string;
  readonly kind: string;
  readonly config: JsonObject;
  /** As in case.json: base atol/rtol plus per-tensor or per-group overrides; see toleranceFor. */
  readonly tolerance: JsonObject;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Empty when the case has no weight file. */
  readonly weightKeys: readonly WeightKey[];
  readonly tensors: Map<string, HostTensor>;
  /** In weightKeys order (the file header itself is alphabetical). */
  readonly weights?: Map<string, HostTensor>;
  readonly raw: JsonObject;
}

const DTYPES: readonly DType[] = ["float32", "float64", "int64", "int32", "uint8", "bool"];

const caseError = (scope: string, expected: string, got: string, hint?: string): CheckpointError =>
  new CheckpointError({ op: "loadGoldenCase", scope, expected, got, hint });

export function loadGoldenCase(dir: string): GoldenCase {
  const casePath = join(dir, "case.json");
  let raw: Json;
  try {
    raw = JSON.parse(readFileSync(casePath, "utf8")) as Json;
  } catch (e) {
    throw caseError(casePath, "a readable case.json", errorText(e), "is this a golden case directory?");
  }
  if (!isObject(raw)) throw caseError(casePath, "a JSON object", typeof raw);
  const field = <T extends Json>(key: string, ok: (v: Json | undefined) => v is T, what: string): T => {
    const v = raw[key];
    if (!ok(v)) throw caseError(casePath, `field "${key}" as ${what}`, JSON.stringify(v) ?? "nothing");
    return v;
  };
  const weightKeys = raw.weight_keys === undefined ? [] : parseWeightKeys(raw.weight_keys, casePath);
  const tensorsFile = raw.tensors === undefined ? "tensors.safetensors" : field("tensors", isString, "a file name");
  const tensors = readSafetensors(join(dir, tensorsFile)).tensors;
  const inputs = field("inputs", isStringList, "a list of tensor names");
  const outputs = field("outputs", isStringList, "a list of tensor names");
  const declared: [string, DType | undefined, readonly number[]][] = Object.entries(isObject(raw.tensor_info) ? raw.tensor_info : {})
    .map(([name, info]) => [name, asDType(isObject(info) ? info.dtype : null), isObject(info) && isShape(info.shape) ? info.shape : [-1]]);
  const missing = [...inputs, ...outputs].filter((n) => !tensors.has(n)).map((n) => `missing ${n}`);
  checkAgainst(tensors, declared, `${join(dir, tensorsFile)} vs tensor_info`, missing, false);
  let weights: Map<string, HostTensor> | undefined;
  if (raw.weights !== undefined) {
    const file = join(dir, field("weights", isString, "a file name"));
    const loaded = readSafetensors(file).tensors;
    checkAgainst(loaded, weightKeys, `${file} vs weight_keys`, [], true);
    weights = new Map(weightKeys.map(([key]) => [key, loaded.get(key)!]));
  }
  return {
    dir, name: field("name", isString, "a string"), kind: field("kind", isString, "a string"),
    config: field("config", isObject, "an object"), tolerance: field("tolerance", isObject, "an object"),
    inputs, outputs, weightKeys, tensors, weights, raw,
  };
}

function parseWeightKeys(v: Json, scope: string): WeightKey[] {
  if (!Array.isArray(v)) throw caseError(scope, "weight_keys as a list of [key, dtype, shape]", typeof v);
  return v.map((entry, i) => {
    if (!Array.isArray(entry) || entry.length !== 3 || !isString(entry[0]) || !isShape(entry[2])) {
      throw caseError(scope, `weight_keys[${i}] as [key, dtype, shape]`, JSON.stringify(entry));
    }
    const dtype = asDType(entry[1]);
    if (dtype === undefined) throw caseError(scope, `weight_keys[${i}] dtype one of ${DTYPES.join(", ")}`, JSON.stringify(entry[1]));
    return [entry[0], dtype, entry[2]] as const;
  });
}

/** Reports every missing, unexpected or mismatched tensor at once. */
function checkAgainst(got: ReadonlyMap<string, HostTensor>, declared: readonly (readonly [string, DType | undefined, readonly number[]])[],
  scope: string, problems: string[], strict: boolean): void {
  for (const [key, dtype, shape] of declared) {
    const t = got.get(key);
    if (t === undefined) problems.push(`missing ${key}`);
    else if (t.dtype !== dtype || !sameShape(t.shape, shape)) problems.push(`${key}: ${dtype} ${fmtShape(shape)} declared, file has ${t.dtype} ${fmtShape(t.shape)}`);
  }
  if (strict) {
    const names = new Set(declared.map(([key]) => key));
    for (const key of got.keys()) if (!names.has(key)) problems.push(`unexpected ${key}`);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 10).join("; ") + (problems.length > 10 ? `; ... ${problems.length - 10} more` : "");
    throw caseError(scope, "tensors exactly as case.json declares them", shown);
  }
}

export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
  /** Require equality (integer tensors are always compared exactly). */
  readonly exact?: boolean;
  /** Also accept the tensor when its relative L2 error is below this, whatever the elementwise test says. */
  readonly maxRelL2?: number;
}

/**
 * The tolerance for one tensor. case.json keys name a tensor (and its suffixed variants, so "q_hard"
 * covers "q_hard_small"), "grads" covers every "grad.<key>", and "exact" means equality.
 */
export function toleranceFor(tolerance: JsonObject, tensor: string): Tolerance {
  const base = { atol: numberOr(tolerance.atol, 0), rtol: numberOr(tolerance.rtol, 0) };
  const candidates = Object.keys(tolerance).filter((k) => !["atol", "rtol", "grads", "note"].includes(k) && (tensor === k || tensor.startsWith(`${k}_`)));
  const key = tensor.startsWith("grad.") && tolerance.grads !== undefined ? "grads" : candidates.sort((a, b) => b.length - a.length)[0];
  const spec = key === undefined ? undefined : tolerance[key];
  if (spec === "exact") return { ...base, exact: true };
  if (!isObject(spec)) return base;
  // The tokenizer fixture states its relative-L2 fallback only in prose ("relative L2 error < 1e-3").
  const relL2 = typeof spec.compare === "string" ? /relative L2 error < ([0-9.eE+-]+)/.exec(spec.compare) : null;
  return { atol: numberOr(spec.atol, base.atol), rtol: numberOr(spec.rtol, base.rtol), ...(relL2 ? { maxRelL2: Number(relL2[1]) } : {}) };
}

export interface Comparison {
  readonly ok: boolean;
  readonly maxAbsErr: number;
  /** Max of |got - exp| / |exp| over elements with exp != 0. */
  readonly maxRelErr: number;
  /** Max of |got - exp| / (atol + rtol·|exp|); <= 1 means every element is within tolerance. */
  readonly worstRatio: number;
  /** Flat index of the element with worstRatio (-1 when there are no elements or shapes differ). */
  readonly worstIndex: number;
  /** ||got - exp||₂ / ||exp||₂. */
  readonly relL2: number;
  /** Elements outside the tolerance (or not equal, when exact). */
  readonly mismatches: number;
  /** Why the tensors could not be compared elementwise (shape or dtype kind). */
  readonly reason?: string;
}

export function compareTensors(got: HostTensor, expected: HostTensor, tol: Tolerance): Comparison {
  const refuse = (reason: string): Comparison =>
    ({ ok: false, maxAbsErr: NaN, maxRelErr: NaN, worstRatio: Infinity, worstIndex: -1, relL2: NaN, mismatches: expected.size, reason });
  if (!sameShape(got.shape, expected.shape)) return refuse(`shape ${fmtShape(got.shape)} vs expected ${fmtShape(expected.shape)}`);
  if (isFloat(got.dtype) !== isFloat(expected.dtype)) return refuse(`dtype ${got.dtype} vs expected ${expected.dtype}`);
  const exact = tol.exact === true || !isFloat(expected.dtype);
  const g64 = got.data instanceof BigInt64Array ? got.data : undefined, e64 = expected.data instanceof BigInt64Array ? expected.data : undefined;
  let maxAbsErr = 0, maxRelErr = 0, worstRatio = 0, worstIndex = -1, sqErr = 0, sqRef = 0, mismatches = 0;
  for (let i = 0; i < expected.size; i++) {
    const g = got.at(i), e = expected.at(i);
    let diff: number;
    // Compare int64 pairs as bigints so ids above 2^53 cannot collide.
    if (g64 && e64) diff = Math.abs(Number(g64[i]! - e64[i]!));
    else if (Number.isNaN(g) || Number.isNaN(e)) diff = Number.isNaN(g) && Number.isNaN(e) ? 0 : Infinity;
    else diff = g === e ? 0 : Math.abs(g - e);
    const allowed = tol.atol + tol.rtol * Math.abs(e);
    const ratio = diff === 0 ? 0 : allowed > 0 ? diff / allowed : Infinity;
    if (exact ? diff !== 0 : diff > allowed) mismatches++;
    if (ratio > worstRatio || worstIndex < 0) { worstRatio = ratio; worstIndex = i; }
    maxAbsErr = Math.max(maxAbsErr, diff);
    if (e !== 0 && Number.isFinite(e)) maxRelErr = Math.max(maxRelErr, diff / Math.abs(e));
    if (Number.isFinite(e)) { sqErr += diff * diff; sqRef += e * e; }
  }
  const relL2 = sqRef > 0 ? Math.sqrt(sqErr / sqRef) : sqErr > 0 ? Infinity : 0;
  const ok = mismatches === 0 || (!exact && tol.maxRelL2 !== undefined && relL2 < tol.maxRelL2);
  return { ok, maxAbsErr, maxRelErr, worstRatio, worstIndex, relL2, mismatches };
}

/**
 * The deterministic "formula weights" of the ResNet-50 / Inception cases (README "Formula weights"):
 * an integer hash of (tensor index t, element index i) mapped to (-1, 1), scaled per tensor kind.
 */
export function formulaWeights(caseJson: JsonObject): Map<string, HostTensor> {
  const list = caseJson.formula_weights;
  const scope = typeof caseJson.name === "string" ? caseJson.name : "case.json";
  if (!Array.isArray(list)) throw new CheckpointError({ op: "formulaWeights", scope, expected: "a formula_weights list", got: typeof list });
  const out = new Map<string, HostTensor>();
  list.forEach((entry, position) => {
    const { t, key, shape, scale, kind, dtype } = isObject(entry) ? entry : {};
    if (typeof t !== "number" || !Number.isSafeInteger(t) || !isString(key) || !isShape(shape) || typeof scale !== "number") {
      throw new CheckpointError({ op: "formulaWeights", scope, expected: `formula_weights[${position}] as {t, key, shape, dtype, kind, scale}`, got: JSON.stringify(entry) });
    }
    if (kind === "const_int" && dtype === "int64") {
      out.set(key, new HostTensor("int64", shape, new BigInt64Array(shapeSize(shape)).fill(BigInt(scale))));
      return;
    }
    if (dtype !== "float32" || (kind !== "uni" && kind !== "one_plus" && kind !== "var")) {
      throw new CheckpointError({ op: "formulaWeights", scope: `${scope}[${key}]`, expected: "float32 uni/one_plus/var or int64 const_int", got: `${String(dtype)} ${String(kind)}` });
    }
    // Float32Array stores round to nearest-even, which is the README's final float32 rounding.
    const data = new Float32Array(shapeSize(shape));
    for (let i = 0; i < data.length; i++) {
      const s = hashUniform(t, i);
      data[i] = kind === "uni" ? scale * s : kind === "one_plus" ? 1 + scale * s : 1 + scale * Math.abs(s);
    }
    out.set(key, new HostTensor("float32", shape, data));
  });
  return out;
}

/** Uniform in (-1, 1) from a 32-bit integer mix of (t, i); Math.imul keeps every product wrapping mod 2^32. */
function hashUniform(t: number, i: number): number {
  let x = (i + Math.imul(t, 0x9e3779b9)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return 2 * ((x + 0.5) / 2 ** 32) - 1;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

const asDType = (v: Json | undefined): DType | undefined => DTYPES.find((d) => d === v);
const numberOr = (v: Json | undefined, fallback: number): number => (typeof v === "number" ? v : fallback);
const isString = (v: Json | undefined): v is string => typeof v === "string";
const isStringList = (v: Json | undefined): v is string[] => Array.isArray(v) && v.every(isString);
const isShape = (v: Json | undefined): v is number[] => Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && (d as number) >= 0);
function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
