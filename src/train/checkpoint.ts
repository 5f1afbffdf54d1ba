// Training checkpoints: everything needed to continue a run exactly (weights, EMA, optimizer
// moments, step counters, RNG and data-loader state, config) in ONE safetensors file, written
// atomically (temp file + rename). `latest.json` names the newest complete checkpoint and is
// itself replaced atomically, so a kill at any moment leaves the previous checkpoint usable.

import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readSafetensors, writeSafetensors } from "../io/safetensors.js";
import type { HostTensor } from "../engine/host-tensor.js";
import type { ParamStore } from "../engine/params.js";
import { CheckpointError } from "../engine/errors.js";

export interface RunState<Meta> {
  readonly step: number;
  /** Tensor groups keyed by prefix, e.g. "model", "ema", "optimizer", "disc". */
  readonly tensors: ReadonlyMap<string, ReadonlyMap<string, HostTensor>>;
  /** JSON-serialisable bookkeeping: config, RNG and loader state, LeCam EMAs, ... */
  readonly meta: Meta;
}

const LATEST = "latest.json";

export function checkpointPath(dir: string, step: number): string {
  return join(dir, `checkpoint-${String(step).padStart(8, "0")}.safetensors`);
}

/** Saves a run state and keeps the `keep` newest checkpoints. Returns the file written. */
export function saveRunState<Meta>(dir: string, state: RunState<Meta>, keep = 2): string {
  mkdirSync(dir, { recursive: true });
  const flat = new Map<string, HostTensor>();
  for (const [group, tensors] of state.tensors) {
    for (const [k, v] of tensors) flat.set(`${group}/${k}`, v);
  }
  const path = checkpointPath(dir, state.step);
  writeSafetensors(path, flat, { format: "maskbit-run", step: String(state.step), meta: JSON.stringify(state.meta) });
  const tmp = join(dir, `.${LATEST}.tmp`);
  writeFileSync(tmp, JSON.stringify({ step: state.step, file: path.split("/").pop() }) + "\n");
  renameSync(tmp, join(dir, LATEST));
  const old = readdirSync(dir).filter((f) => /^checkpoint-\d+\.safetensors$/.test(f)).sort();
  for (const f of old.slice(0, Math.max(0, old.length - keep))) rmSync(join(dir, f), { force: true });
  return path;
}

/** Loads the newest checkpoint of a run directory, or undefined when there is none. */
export function loadLatestRunState<Meta>(dir: string): RunState<Meta> | undefined {
  const pointer = join(dir, LATEST);
  if (!existsSync(pointer)) return undefined;
  let file: string;
  try {
    file = (JSON.parse(readFileSync(pointer, "utf8")) as { file: string }).file;
  } catch (e) {
    throw new CheckpointError({ op: "loadLatestRunState", scope: pointer, expected: "a JSON pointer to the newest checkpoint", got: String(e) });
  }
  return loadRunState<Meta>(join(dir, file));
}

export function loadRunState<Meta>(path: string): RunState<Meta> {
  const { tensors, metadata } = readSafetensors(path);
  if (metadata.format !== "maskbit-run" || metadata.meta === undefined || metadata.step === undefined) {
    throw new CheckpointError({ op: "loadRunState", scope: path, expected: "a maskbit training checkpoint (metadata format=maskbit-run)", got: `metadata keys [${Object.keys(metadata).join(", ")}]`, hint: "model files for inference are loaded with Tokenizer.load / Generator.load" });
  }
  const groups = new Map<string, Map<string, HostTensor>>();
  for (const [k, v] of tensors) {
    const slash = k.indexOf("/");
    const group = slash < 0 ? "" : k.slice(0, slash);
    if (!groups.has(group)) groups.set(group, new Map());
    groups.get(group)!.set(k.slice(slash + 1), v);
  }
  return { step: Number(metadata.step), tensors: groups, meta: JSON.parse(metadata.meta) as Meta };
}

/**
 * Puts a checkpoint group's tensors into `store`, requiring exactly `keys` with the shapes already
 * in the store; every missing, unexpected or mis-shaped entry is reported at once.
 */
export function restoreGroup(store: ParamStore, groups: ReadonlyMap<string, ReadonlyMap<string, HostTensor>>, group: string, keys: readonly string[]): void {
  const found = groups.get(group) ?? new Map<string, HostTensor>();
  const problems: string[] = [];
  for (const k of keys) {
    const v = found.get(k), want = store.get(k);
    if (!v) problems.push(`missing ${k}`);
    else if (want && (v.dtype !== want.dtype || v.shape.join(",") !== want.shape.join(","))) problems.push(`${k}: expected ${want.dtype}[${want.shape}], found ${v.dtype}[${v.shape}]`);
  }
  for (const k of found.keys()) if (!keys.includes(k)) problems.push(`unexpected ${k}`);
  if (problems.length) {
    throw new CheckpointError({ op: "restoreGroup", scope: group, expected: `the ${keys.length} tensors of the model`, got: `${problems.length} problem(s):\n  ${problems.join("\n  ")}`, hint: "was the checkpoint written with this recipe?" });
  }
  for (const k of keys) store.set(k, found.get(k)!);
}
