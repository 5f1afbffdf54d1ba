// The safetensors format: u64 little-endian header length N, N bytes of JSON header
// ({key: {dtype, shape, data_offsets}}, optional "__metadata__"), then the raw little-endian data.
// Every tensor is copied into its own typed array, so no tensor aliases the caller's bytes and
// unaligned data offsets (common once a U8 tensor precedes an F32 one) need no special case.

import { HostTensor, shapeSize } from "../engine/host-tensor.js";
import { allocHostArray, type DType } from "../engine/graph/dtype.js";
import { CheckpointError, ConfigError, fmtShape } from "../engine/errors.js";
import { fileSystem } from "./platform.js";

export interface Safetensors {
  /** Tensors in data-offset order (the writer's sorted key order). */
  readonly tensors: Map<string, HostTensor>;
  readonly metadata: Record<string, string>;
}

const FILE_DTYPES: Readonly<Record<string, DType>> = { F32: "float32", F64: "float64", I64: "int64", I32: "int32", U8: "uint8", BOOL: "bool" };
const FILE_DTYPE_OF: Readonly<Record<DType, string>> = { float32: "F32", float64: "F64", int64: "I64", int32: "I32", uint8: "U8", bool: "BOOL" };
const METADATA_KEY = "__metadata__";
// Same bound as the reference implementation: refuse absurd lengths before allocating anything.
const MAX_HEADER_BYTES = 100_000_000;

const bytesPerElement = (dtype: DType): number => allocHostArray(dtype, 0).BYTES_PER_ELEMENT;

/** Copies `dst.length` bytes starting at absolute file position `position` into `dst`. */
type ReadAt = (dst: Uint8Array, position: number) => void;

interface Entry { readonly key: string; readonly dtype: DType; readonly shape: number[]; readonly begin: number; readonly end: number }

const readError = (scope: string, expected: string, got: string, hint?: string): CheckpointError =>
  new CheckpointError({ op: "readSafetensors", scope, expected, got, hint });

/** Reads a safetensors file from a path or from bytes (`name` labels errors for bytes). */
export function readSafetensors(source: string | Uint8Array, name = "<bytes>"): Safetensors {
  if (typeof source !== "string") {
    return decode(source.length, (dst, pos) => dst.set(source.subarray(pos, pos + dst.length)), name);
  }
  let bytes: Uint8Array;
  try {
    bytes = fileSystem("readSafetensors", source).readFile(source);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw readError(source, "a readable safetensors file", errorText(e));
  }
  return decode(bytes.length, (dst, pos) => dst.set(bytes.subarray(pos, pos + dst.length)), source);
}

function decode(size: number, readAt: ReadAt, file: string): Safetensors {
  if (size < 8) throw readError(file, "at least 8 bytes (u64 header length)", `${size} bytes`, "empty or truncated file");
  const prefix = new Uint8Array(8);
  readAt(prefix, 0);
  const headerLength = new DataView(prefix.buffer).getBigUint64(0, true);
  const limit = Math.min(MAX_HEADER_BYTES, size - 8);
  if (headerLength < 2n || headerLength > BigInt(limit)) {
    const hint = headerLength > BigInt(size - 8) ? "truncated file, or not a safetensors file" : undefined;
    throw readError(file, `header length in [2, ${limit}] for a ${size}-byte file`, `${headerLength}`, hint);
  }
  const headerBytes = new Uint8Array(Number(headerLength));
  readAt(headerBytes, 8);
  const dataStart = 8 + headerBytes.length;
  const { entries, metadata } = parseHeader(headerBytes, size - dataStart, file);
  const tensors = new Map<string, HostTensor>();
  for (const e of entries) {
    const data = allocHostArray(e.dtype, shapeSize(e.shape));
    readAt(new Uint8Array(data.buffer), dataStart + e.begin);
    tensors.set(e.key, new HostTensor(e.dtype, e.shape, data));
  }
  return { tensors, metadata };
}

function parseHeader(bytes: Uint8Array, dataLength: number, file: string): { entries: Entry[]; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw readError(file, "a UTF-8 JSON header", `unparseable header (${errorText(e)})`, "truncated or corrupt file?");
  }
  if (!isRecord(header)) throw readError(file, "a JSON object header", describe(header));
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [key, value] of Object.entries(header)) {
    if (key === METADATA_KEY) {
      if (!isRecord(value)) throw readError(`${file}[${key}]`, "an object of string values", describe(value));
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== "string") throw readError(`${file}[${key}]`, `a string value for "${k}"`, describe(v));
        metadata[k] = v;
      }
    } else {
      entries.push(parseEntry(key, value, `${file}[${key}]`));
    }
  }
  // Data must be covered exactly once: sorted by offset, each tensor starts where the previous ended.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of entries) {
    const scope = `${file}[${e.key}]`;
    if (e.end > dataLength) {
      throw readError(scope, `data_offsets inside the ${dataLength}-byte data section`, `[${e.begin}, ${e.end}]`, "truncated file?");
    }
    if (e.begin !== cursor) {
      const what = e.begin < cursor ? "overlapping the previous tensor" : "leaving a gap";
      throw readError(scope, `data starting at byte ${cursor} (contiguous, non-overlapping)`, `${e.begin}, ${what}`);
    }
    cursor = e.end;
  }
  if (cursor !== dataLength) {
    throw readError(file, `tensors covering the whole ${dataLength}-byte data section`, `coverage ends at byte ${cursor}`);
  }
  return { entries, metadata };
}

function parseEntry(key: string, value: unknown, scope: string): Entry {
  if (!isRecord(value)) throw readError(scope, "an object {dtype, shape, data_offsets}", describe(value));
  const { dtype: fileDtype, shape, data_offsets: offsets } = value;
  const dtype = typeof fileDtype === "string" ? FILE_DTYPES[fileDtype] : undefined;
  if (dtype === undefined) throw readError(scope, `dtype one of ${Object.keys(FILE_DTYPES).join(", ")}`, describe(fileDtype));
  if (!isIndexArray(shape)) throw readError(scope, "shape as an array of non-negative integers", describe(shape));
  if (!isIndexArray(offsets) || offsets.length !== 2 || offsets[0]! > offsets[1]!) {
    throw readError(scope, "data_offsets [begin, end] with 0 <= begin <= end", describe(offsets));
  }
  const [begin, end] = offsets as [number, number];
  const nbytes = shapeSize(shape) * bytesPerElement(dtype);
  if (end - begin !== nbytes) {
    throw readError(scope, `${nbytes} bytes for ${fileDtype} ${fmtShape(shape)}`, `${end - begin} bytes (data_offsets [${begin}, ${end}])`);
  }
  return { key, dtype, shape, begin, end };
}

/** The whole file in memory: header keys sorted, data laid out in the same order. */
export function encodeSafetensors(tensors: ReadonlyMap<string, HostTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const { header, parts } = layout(tensors, metadata, "encodeSafetensors");
  const out = new Uint8Array(header.length + parts.reduce((n, p) => n + p.length, 0));
  out.set(header, 0);
  let at = header.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Writes to a temporary file in the target directory and renames it, so readers never see a partial file. */
export function writeSafetensors(path: string, tensors: ReadonlyMap<string, HostTensor>, metadata: Record<string, string> = {}): void {
  const { header, parts } = layout(tensors, metadata, "writeSafetensors");
  try {
    fileSystem("writeSafetensors", path).writeFileAtomic(path, [header, ...parts]);
  } catch (e) {
    throw e instanceof CheckpointError || e instanceof ConfigError ? e : new CheckpointError({ op: "writeSafetensors", scope: path, expected: "a writable file", got: errorText(e) });
  }
}

function layout(tensors: ReadonlyMap<string, HostTensor>, metadata: Record<string, string>, op: string): { header: Uint8Array; parts: Uint8Array[] } {
  // The header is assembled by hand because JSON.stringify would move integer-like keys ("0") to the front.
  const fields: string[] = [];
  if (Object.keys(metadata).length > 0) {
    const meta = Object.keys(metadata).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(String(metadata[k]))}`);
    fields.push(`${JSON.stringify(METADATA_KEY)}:{${meta.join(",")}}`);
  }
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const key of [...tensors.keys()].sort()) {
    if (key === METADATA_KEY) throw new CheckpointError({ op, scope: key, expected: "a tensor name other than __metadata__", got: key });
    const t = tensors.get(key)!;
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const info = { dtype: FILE_DTYPE_OF[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    fields.push(`${JSON.stringify(key)}:${JSON.stringify(info)}`);
    parts.push(bytes);
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(`{${fields.join(",")}}`);
  // Space padding keeps the data section 8-byte aligned, as the reference writer does.
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const header = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  return { header, parts };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isIndexArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);
}

function describe(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
