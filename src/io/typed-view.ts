// Typed arrays over bytes someone else owns: a view when the bytes sit at an offset aligned for the
// element size (no copy; the result shares memory with `bytes`), otherwise a fresh aligned copy,
// because typed arrays cannot start at a misaligned byte offset.

import { allocHostArray, type DType, type HostArray } from "../engine/graph/dtype.js";

export const bytesPerElement = (dtype: DType): number => allocHostArray(dtype, 0).BYTES_PER_ELEMENT;

/** `bytes` reinterpreted as `dtype` (little-endian host); `copied` says whether a copy was needed. */
export function hostArrayOf(dtype: DType, bytes: Uint8Array): { data: HostArray; copied: boolean } {
  const size = bytesPerElement(dtype), n = bytes.byteLength / size;
  if (bytes.byteOffset % size === 0) {
    const { buffer, byteOffset } = bytes;
    switch (dtype) {
      case "float32": return { data: new Float32Array(buffer, byteOffset, n), copied: false };
      case "float64": return { data: new Float64Array(buffer, byteOffset, n), copied: false };
      case "int64": return { data: new BigInt64Array(buffer, byteOffset, n), copied: false };
      case "int32": return { data: new Int32Array(buffer, byteOffset, n), copied: false };
      case "uint8": case "bool": return { data: new Uint8Array(buffer, byteOffset, n), copied: false };
    }
  }
  const out = allocHostArray(dtype, n);
  new Uint8Array(out.buffer).set(bytes);
  return { data: out, copied: true };
}
