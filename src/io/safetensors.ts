// The safetensors format: u64 little-endian header length N, N bytes of JSON header
// ({key: {dtype, shape, data_offsets}}, optional "__metadata__"), then the raw little-endian data.
// From bytes, a tensor whose data sits at an offset aligned for its dtype is a typed-array view of
// those bytes (no copy: it shares memory with the caller's buffer, or the file read once from a
// path); only misaligned ones (common once a U8 tensor precedes an F32 one) are copied. Every size
// in the header is checked against limits and against the bytes present before anything is
// allocated.

import { HostTensor, shapeSize } from "../engine/host-tensor.js";
import { allocHostArray, type DType } from "../engine/graph/dtype.js";
import { CheckpointError, ConfigError, fmtShape } from "../engine/errors.js";
import { fileSystem } from "./platform.js";
import { bytesPerElement, hostArrayOf } from "./typed-view.js";

export interface Safetensors {
  /** Tensors in data-offset order (the writer's sorted key order). */
  readonly tensors: Map<string, HostTensor>;
  readonly metadata: Record<string, string>;
}

const FILE_DTYPES: Readonly<Record<string, DType>> = { F32: "float32", F64: "float64", I64: "int64", I32: "int32", U8: "uint8", BOOL: "bool" };
const FILE_DTYPE_OF: Readonly<Record<DType, string>> = { float32: "F32", float64: "F64", int64: "I64", int32: "I32", uint8: "U8", bool: "BOOL" };
const METADATA_KEY = "__metadata__";

export interface SafetensorsLimits {
  /** JSON header bytes (default 16 MiB; the reference implementation's hard ceiling is 100 MB). */
  readonly maxHeaderBytes: number;
  /** Tensors in one file (default 100,000). */
  readonly maxTensors: number;
  /** Dimensions of one tensor (default 32). */
  readonly maxRank: number;
  /** __metadata__ entries (default 1,000). */
  readonly maxMetadataEntries: number;
  /** Characters of one __metadata__ key or value (default 64 Ki: maskbit's config and class-name values are a few KB). */
  readonly maxMetadataValueChars: number;
}

export const DEFAULT_SAFETENSORS_LIMITS: SafetensorsLimits = {
  maxHeaderBytes: 16 << 20, maxTensors: 100_000, maxRank: 32, maxMetadataEntries: 1000, maxMetadataValueChars: 64 * 1024,
};

export interface SafetensorsReadOptions {
  readonly limits?: Partial<SafetensorsLimits>;
}

const limitHint = (field: keyof SafetensorsLimits): string => `raise it with readSafetensors(source, name, { limits: { ${field} } }) if the file is trusted`;

/** The data of a tensor from its absolute file byte range. */
type ReadAt = (dtype: DType, begin: number, end: number) => { data: ReturnType<typeof allocHostArray> };

interface Entry { readonly key: string; readonly dtype: DType; readonly shape: number[]; readonly begin: number; readonly end: number }

const readError = (scope: string, expected: string, got: string, hint?: string): CheckpointError =>
  new CheckpointError({ op: "readSafetensors", scope, expected, got, hint });

/**
 * Reads a safetensors file from a path or from bytes (`name` labels errors for bytes). Tensors read
 * from bytes may be views of them (see the top of this file).
 */
export function readSafetensors(source: string | Uint8Array, name = "<bytes>", options: SafetensorsReadOptions = {}): Safetensors {
  const limits: SafetensorsLimits = { ...DEFAULT_SAFETENSORS_LIMITS, ...options.limits };
  if (typeof source !== "string") return decodeBytes(source, name, limits);
  let bytes: Uint8Array;
  try {
    bytes = fileSystem("readSafetensors", source).readFile(source);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw readError(source, "a readable safetensors file", errorText(e));
  }
  return decodeBytes(bytes, source, limits);
}

function decodeBytes(bytes: Uint8Array, file: string, limits: SafetensorsLimits): Safetensors {
  const prefix = (dst: Uint8Array, pos: number) => dst.set(bytes.subarray(pos, pos + dst.length));
  return decode(bytes.length, prefix, (dtype, begin, end) => hostArrayOf(dtype, bytes.subarray(begin, end)), file, limits);
}

function decode(size: number, prefix: (dst: Uint8Array, pos: number) => void, readAt: ReadAt, file: string, limits: SafetensorsLimits): Safetensors {
  if (size < 8) throw readError(file, "at least 8 bytes (u64 header length)", `${size} bytes`, "empty or truncated file");
  const lengthBytes = new Uint8Array(8);
  prefix(lengthBytes, 0);
  const headerLength = new DataView(lengthBytes.buffer).getBigUint64(0, true);
  if (headerLength > BigInt(limits.maxHeaderBytes)) {
    throw readError(file, `a header of at most maxHeaderBytes = ${limits.maxHeaderBytes} bytes`, `${headerLength} bytes`,
      headerLength > BigInt(size - 8) ? "truncated file, or not a safetensors file" : limitHint("maxHeaderBytes"));
  }
  if (headerLength < 2n || headerLength > BigInt(size - 8)) {
    throw readError(file, `header length in [2, ${size - 8}] for a ${size}-byte file`, `${headerLength}`, "truncated file, or not a safetensors file");
  }
  const headerBytes = new Uint8Array(Number(headerLength));
  prefix(headerBytes, 8);
  const dataStart = 8 + headerBytes.length;
  const { entries, metadata } = parseHeader(headerBytes, size - dataStart, file, limits);
  const tensors = new Map<string, HostTensor>();
  for (const e of entries) {
    const { data } = readAt(e.dtype, dataStart + e.begin, dataStart + e.end);
    tensors.set(e.key, new HostTensor(e.dtype, e.shape, data));
  }
  return { tensors, metadata };
}

function parseHeader(bytes: Uint8Array, dataLength: number, file: string, limits: SafetensorsLimits): { entries: Entry[]; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw readError(file, "a UTF-8 JSON header", `unparseable header (${errorText(e)})`, "truncated or corrupt file?");
  }
  if (!isRecord(header)) throw readError(file, "a JSON object header", describe(header));
  const keys = Object.keys(header);
  const count = keys.length - (Object.hasOwn(header, METADATA_KEY) ? 1 : 0);
  if (count > limits.maxTensors) {
    throw readError(file, `at most maxTensors = ${limits.maxTensors} tensors`, `${count}`, limitHint("maxTensors"));
  }
  const metadata = new Map<string, string>();
  const entries: Entry[] = [];
  for (const key of keys) {
    const value = header[key];
    if (key === METADATA_KEY) {
      if (!isRecord(value)) throw readError(`${file}[${key}]`, "an object of string values", describe(value));
      const metaKeys = Object.keys(value);
      if (metaKeys.length > limits.maxMetadataEntries) {
        throw readError(`${file}[${key}]`, `at most maxMetadataEntries = ${limits.maxMetadataEntries} entries`, `${metaKeys.length}`, limitHint("maxMetadataEntries"));
      }
      for (const k of metaKeys) {
        const v = value[k];
        if (typeof v !== "string") throw readError(`${file}[${key}]`, `a string value for ${describe(k)}`, describe(v));
        const longest = Math.max(k.length, v.length);
        if (longest > limits.maxMetadataValueChars) {
          throw readError(`${file}[${key}][${shorten(k)}]`, `metadata keys and values of at most maxMetadataValueChars = ${limits.maxMetadataValueChars} characters`,
            `${longest} characters`, limitHint("maxMetadataValueChars"));
        }
        metadata.set(k, v);
      }
    } else {
      entries.push(parseEntry(key, value, `${file}[${shorten(key)}]`, limits));
    }
  }
  // Data must be covered exactly once: sorted by offset, each tensor starts where the previous ended.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of entries) {
    const scope = `${file}[${shorten(e.key)}]`;
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
  // fromEntries defines own properties, so a "__proto__" key stays a plain entry.
  return { entries, metadata: Object.fromEntries(metadata) };
}

function parseEntry(key: string, value: unknown, scope: string, limits: SafetensorsLimits): Entry {
  if (!isRecord(value)) throw readError(scope, "an object {dtype, shape, data_offsets}", describe(value));
  const { dtype: fileDtype, shape, data_offsets: offsets } = value;
  const dtype = typeof fileDtype === "string" ? FILE_DTYPES[fileDtype] : undefined;
  if (dtype === undefined) throw readError(scope, `dtype one of ${Object.keys(FILE_DTYPES).join(", ")}`, describe(fileDtype));
  if (!isIndexArray(shape)) throw readError(scope, "shape as an array of non-negative integers", describe(shape));
  if (shape.length > limits.maxRank) throw readError(scope, `at most maxRank = ${limits.maxRank} dimensions`, `${shape.length}`, limitHint("maxRank"));
  if (!isIndexArray(offsets) || offsets.length !== 2 || offsets[0]! > offsets[1]!) {
    throw readError(scope, "data_offsets [begin, end] with 0 <= begin <= end", describe(offsets));
  }
  const [begin, end] = offsets as [number, number];
  const nbytes = shapeSize(shape) * bytesPerElement(dtype);
  if (!Number.isSafeInteger(nbytes)) throw readError(scope, "a shape whose byte size is below 2^53", `${fileDtype} ${fmtShape(shape)}`);
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

function shorten(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function describe(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = Array.isArray(v) ? "a (deeply nested) array" : "a (deeply nested) value";
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
