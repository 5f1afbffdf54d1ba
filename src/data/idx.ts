// The IDX format (MNIST, Fashion-MNIST): two zero bytes, a dtype byte, a dimension count byte,
// then one big-endian uint32 per dimension and the big-endian data. Files are often gzipped; the
// gzip magic (1f 8b) is sniffed rather than trusting the file name.

import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { gunzip as gunzipCb, gzipSync } from "node:zlib";
import { DataError } from "../io/data-error.js";

const gunzip = promisify(gunzipCb);

export type IdxDType = "uint8" | "int8" | "int16" | "int32" | "float32" | "float64";
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  readonly dtype: IdxDType;
  readonly dims: readonly number[];
  readonly data: IdxData;
}

interface DTypeInfo { readonly code: number; readonly bytes: number; read(view: DataView, offset: number): number; alloc(n: number): IdxData }

const DTYPES: Readonly<Record<IdxDType, DTypeInfo>> = {
  uint8: { code: 0x08, bytes: 1, read: (v, o) => v.getUint8(o), alloc: (n) => new Uint8Array(n) },
  int8: { code: 0x09, bytes: 1, read: (v, o) => v.getInt8(o), alloc: (n) => new Int8Array(n) },
  int16: { code: 0x0b, bytes: 2, read: (v, o) => v.getInt16(o), alloc: (n) => new Int16Array(n) },
  int32: { code: 0x0c, bytes: 4, read: (v, o) => v.getInt32(o), alloc: (n) => new Int32Array(n) },
  float32: { code: 0x0d, bytes: 4, read: (v, o) => v.getFloat32(o), alloc: (n) => new Float32Array(n) },
  float64: { code: 0x0e, bytes: 8, read: (v, o) => v.getFloat64(o), alloc: (n) => new Float64Array(n) },
};
const DTYPE_OF_CODE = new Map(Object.entries(DTYPES).map(([name, info]) => [info.code, name as IdxDType]));

const hex = (n: number): string => `0x${n.toString(16).padStart(2, "0")}`;

export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

export interface IdxLimits {
  /** Dimensions (default 8; MNIST-style files have 1 to 4). */
  readonly maxRank: number;
  /** Bytes of one (uncompressed) file (default 1 GiB; Fashion-MNIST's largest is 47 MB). */
  readonly maxBytes: number;
}

export const DEFAULT_IDX_LIMITS: IdxLimits = { maxRank: 8, maxBytes: 1 << 30 };

export interface IdxReadOptions {
  readonly limits?: Partial<IdxLimits>;
}

const limitHint = (field: keyof IdxLimits): string => `raise it with { limits: { ${field} } } if the file is trusted`;

/** Parses an uncompressed IDX buffer; `file` only names the source in errors. */
export function parseIdx(bytes: Uint8Array, file = "<buffer>", options: IdxReadOptions = {}): IdxArray {
  const limits: IdxLimits = { ...DEFAULT_IDX_LIMITS, ...options.limits };
  const fail = (expected: string, got: string, hint?: string): never => { throw new DataError({ op: "parseIdx", file, expected, got, hint }); };
  if (bytes.length < 4) fail("at least a 4-byte IDX header", `${bytes.length} bytes`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    fail("IDX magic starting with two zero bytes", `${hex(bytes[0]!)} ${hex(bytes[1]!)}`);
  }
  const dtype = DTYPE_OF_CODE.get(bytes[2]!) ?? fail(`an IDX dtype byte (${[...DTYPE_OF_CODE.keys()].map(hex).join(", ")})`, hex(bytes[2]!));
  const ndims = bytes[3]!;
  if (ndims > limits.maxRank) fail(`at most maxRank = ${limits.maxRank} dimensions`, `${ndims}`, limitHint("maxRank"));
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) fail(`a ${headerBytes}-byte header for ${ndims} dimensions`, `${bytes.length} bytes (truncated)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i);
    dims.push(d);
    count *= d;
  }
  const info = DTYPES[dtype];
  // A float product: exact below 2^53, and any larger count is refused below as more than is present.
  const expectedBytes = headerBytes + count * info.bytes;
  if (!Number.isSafeInteger(expectedBytes)) fail(`dimensions whose product fits the file`, `[${dims.join(", ")}] for ${bytes.length} bytes`, "corrupt header?");
  if (bytes.length !== expectedBytes) {
    const what = bytes.length < expectedBytes ? "truncated" : "trailing bytes";
    fail(`${expectedBytes} bytes for ${dtype} [${dims.join(", ")}]`, `${bytes.length} bytes (${what})`);
  }
  let data: IdxData;
  if (info.bytes === 1) {
    // A copy (Buffer#slice would be a view): the result must not pin or alias the file buffer.
    const body = new Uint8Array(bytes.subarray(headerBytes, expectedBytes));
    data = dtype === "uint8" ? body : new Int8Array(body.buffer);
  } else {
    data = info.alloc(count);
    for (let i = 0; i < count; i++) data[i] = info.read(view, headerBytes + i * info.bytes);
  }
  return { dtype, dims, data };
}

/** Reads an IDX file, gzipped or plain; a gzipped file may not inflate past limits.maxBytes. */
export async function readIdx(path: string, options: IdxReadOptions = {}): Promise<IdxArray> {
  const maxBytes = options.limits?.maxBytes ?? DEFAULT_IDX_LIMITS.maxBytes;
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new DataError({ op: "readIdx", file: path, expected: "a readable IDX file", got: (e as Error).message });
  }
  if (bytes.length > maxBytes) {
    throw new DataError({ op: "readIdx", file: path, expected: `a file of at most maxBytes = ${maxBytes} bytes`, got: `${bytes.length} bytes`, hint: limitHint("maxBytes") });
  }
  if (isGzip(bytes)) {
    try {
      // maxOutputLength stops a gzip bomb after maxBytes of output instead of exhausting memory.
      bytes = await gunzip(bytes, { maxOutputLength: maxBytes });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        throw new DataError({ op: "readIdx", file: path, expected: `at most maxBytes = ${maxBytes} bytes once gunzipped`, got: "more", hint: limitHint("maxBytes") });
      }
      throw new DataError({ op: "readIdx", file: path, expected: "a complete gzip stream", got: (e as Error).message, hint: "the download may be truncated" });
    }
  }
  return parseIdx(bytes, path, options);
}

/** Serialises an array as IDX bytes (gzipped when asked): for tests and dataset tools. */
export function encodeIdx(array: IdxArray, options: { gzip?: boolean } = {}): Uint8Array {
  const info = DTYPES[array.dtype];
  const count = array.dims.reduce((a, b) => a * b, 1);
  if (array.data.length !== count) {
    throw new DataError({ op: "encodeIdx", expected: `${count} elements for [${array.dims.join(", ")}]`, got: `${array.data.length}` });
  }
  const headerBytes = 4 + 4 * array.dims.length;
  const out = new Uint8Array(headerBytes + count * info.bytes);
  const view = new DataView(out.buffer);
  out[2] = info.code;
  out[3] = array.dims.length;
  array.dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  const setters: Record<IdxDType, (o: number, v: number) => void> = {
    uint8: (o, v) => view.setUint8(o, v), int8: (o, v) => view.setInt8(o, v), int16: (o, v) => view.setInt16(o, v),
    int32: (o, v) => view.setInt32(o, v), float32: (o, v) => view.setFloat32(o, v), float64: (o, v) => view.setFloat64(o, v),
  };
  const set = setters[array.dtype];
  for (let i = 0; i < count; i++) set(headerBytes + i * info.bytes, array.data[i]!);
  return options.gzip ? gzipSync(out) : out;
}

export interface IdxImagesLabels {
  /** uint8 [N, H, W] (or [N, H, W, C] for colour IDX files). */
  readonly images: IdxArray;
  /** uint8 [N]. */
  readonly labels: IdxArray;
}

/** Reads an image file and its label file and checks that they describe the same N samples. */
export async function readIdxImagesLabels(imagesPath: string, labelsPath: string): Promise<IdxImagesLabels> {
  const [images, labels] = await Promise.all([readIdx(imagesPath), readIdx(labelsPath)]);
  const op = "readIdxImagesLabels";
  if (images.dtype !== "uint8" || (images.dims.length !== 3 && images.dims.length !== 4)) {
    throw new DataError({ op, file: imagesPath, expected: "uint8 images [N, H, W] or [N, H, W, C]", got: `${images.dtype} [${images.dims.join(", ")}]` });
  }
  if (labels.dtype !== "uint8" || labels.dims.length !== 1) {
    throw new DataError({ op, file: labelsPath, expected: "uint8 labels [N]", got: `${labels.dtype} [${labels.dims.join(", ")}]` });
  }
  if (images.dims[0] !== labels.dims[0]) {
    throw new DataError({
      op, file: labelsPath,
      expected: `${images.dims[0]} labels (one per image in ${imagesPath})`, got: `${labels.dims[0]}`,
    });
  }
  return { images, labels };
}
