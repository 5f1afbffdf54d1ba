// Training checkpoints: everything needed to continue a run exactly (weights, EMA, optimizer
// moments, step counters, RNG and data-loader state, config) in ONE safetensors file, written
// atomically (temp file + rename). `latest.json` names the newest complete checkpoint and is
// itself replaced atomically, so a kill at any moment leaves the previous checkpoint usable.
// Every checkpoint carries the SHA-256 of its tensors' bytes (metadata "sha256"), checked on load,
// so a corrupted file is named as such instead of surfacing later as a NaN loss. When latest.json
// is missing its target or unreadable, the newest intact checkpoint is used (and said so).

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../node/atomic-file.js";
import { firstNonFiniteIndex } from "../engine/params.js";
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
  writeSafetensors(path, flat, { format: "maskbit-run", step: String(state.step), meta: JSON.stringify(state.meta), sha256: tensorsHash(flat) });
  writeFileAtomic(join(dir, LATEST), JSON.stringify({ step: state.step, file: path.split("/").pop() }) + "\n");
  const old = checkpointFiles(dir);
  for (const f of old.slice(0, Math.max(0, old.length - keep))) rmSync(join(dir, f), { force: true });
  return path;
}

/** SHA-256 over the tensors in key order: name, dtype, shape and bytes of each. */
export function tensorsHash(tensors: ReadonlyMap<string, HostTensor>): string {
  const h = createHash("sha256");
  for (const key of [...tensors.keys()].sort()) {
    const t = tensors.get(key)!;
    h.update(`${key}\0${t.dtype}\0${t.shape.join(",")}\0`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest("hex");
}

/** checkpoint-<step>.safetensors files of a run directory, oldest first. */
export function checkpointFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^checkpoint-\d+\.safetensors$/.test(f)).sort() : [];
}

export interface LoadedRunState<Meta> extends RunState<Meta> {
  /** The file the state came from. */
  readonly path: string;
}

/**
 * Loads the newest checkpoint of a run directory, or undefined when there is none. latest.json
 * names it; when latest.json is unreadable or names a missing file, the newest checkpoint that
 * reads and verifies is used instead, with a note through `log`. A checkpoint that latest.json
 * names but that fails its hash is an error naming it (and the older intact one, if any).
 */
export function loadLatestRunState<Meta>(dir: string, log: (line: string) => void = () => {}): LoadedRunState<Meta> | undefined {
  const pointer = join(dir, LATEST);
  let file: string | undefined;
  let problem: string | undefined;
  if (existsSync(pointer)) {
    try {
      const v = JSON.parse(readFileSync(pointer, "utf8")) as { file?: unknown };
      if (typeof v.file !== "string" || !/^checkpoint-\d+\.safetensors$/.test(v.file)) problem = `names no checkpoint (${JSON.stringify(v.file)})`;
      else if (!existsSync(join(dir, v.file))) problem = `names ${v.file}, which is missing`;
      else file = v.file;
    } catch (e) {
      problem = `is unreadable (${String(e).split("\n")[0]})`;
    }
  }
  const all = checkpointFiles(dir);
  if (file !== undefined) {
    try {
      return loadRunState<Meta>(join(dir, file));
    } catch (e) {
      const older = all.filter((f) => f < file!).reverse().find((f) => intact(join(dir, f)));
      throw new CheckpointError({
        op: "resume", scope: join(dir, file), expected: "an intact checkpoint", got: e instanceof CheckpointError ? `${e.got}` : String(e),
        hint: older ? `the older checkpoint ${join(dir, older)} is intact: move ${file} away and rerun with --resume to continue from it` : "no older intact checkpoint; start a new run",
      });
    }
  }
  if (all.length === 0) {
    if (problem !== undefined) log(`note: ${pointer} ${problem} and there is no checkpoint; starting from scratch`);
    return undefined;
  }
  for (const f of [...all].reverse()) {
    try {
      const state = loadRunState<Meta>(join(dir, f));
      log(`note: ${problem !== undefined ? `${pointer} ${problem}` : `${pointer} is missing`}; resuming from the newest intact checkpoint ${f}`);
      return state;
    } catch (e) {
      log(`note: skipping ${f}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
    }
  }
  throw new CheckpointError({ op: "resume", scope: dir, expected: "at least one intact checkpoint", got: `${all.length} checkpoint(s), none intact`, hint: "start a new run (another --out)" });
}

function intact(path: string): boolean {
  try {
    loadRunState(path);
    return true;
  } catch {
    return false;
  }
}

/** Reads and verifies one checkpoint: format, content hash, finite values. */
export function loadRunState<Meta>(path: string): LoadedRunState<Meta> {
  let file;
  try {
    file = readSafetensors(path);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError({ op: "loadRunState", scope: path, expected: "a readable checkpoint", got: String(e) });
  }
  const { tensors, metadata } = file;
  if (metadata.format !== "maskbit-run" || metadata.meta === undefined || metadata.step === undefined) {
    throw new CheckpointError({ op: "loadRunState", scope: path, expected: "a maskbit training checkpoint (metadata format=maskbit-run)", got: `metadata keys [${Object.keys(metadata).join(", ")}]`, hint: "model files for inference are loaded with Tokenizer.load / Generator.load" });
  }
  // Checkpoints written before hashes existed have none and are taken as they are.
  if (metadata.sha256 !== undefined) {
    const actual = tensorsHash(tensors);
    if (actual !== metadata.sha256) {
      throw new CheckpointError({ op: "loadRunState", scope: path, expected: `tensor content with SHA-256 ${metadata.sha256.slice(0, 16)}...`, got: `SHA-256 ${actual.slice(0, 16)}... (the file is corrupt)` });
    }
  }
  for (const [k, v] of tensors) {
    const i = firstNonFiniteIndex(v);
    if (i >= 0) throw new CheckpointError({ op: "loadRunState", scope: path, expected: "finite values", got: `${(v.data as Float32Array)[i]} in ${k} at flat index ${i}` });
  }
  let meta: Meta;
  try {
    meta = JSON.parse(metadata.meta) as Meta;
  } catch (e) {
    throw new CheckpointError({ op: "loadRunState", scope: path, expected: "JSON run metadata", got: String(e) });
  }
  const groups = new Map<string, Map<string, HostTensor>>();
  for (const [k, v] of tensors) {
    const slash = k.indexOf("/");
    const group = slash < 0 ? "" : k.slice(0, slash);
    if (!groups.has(group)) groups.set(group, new Map());
    groups.get(group)!.set(k.slice(slash + 1), v);
  }
  return { step: Number(metadata.step), tensors: groups, meta, path };
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
