// NumPy .npy (format version 1.0) encoding, so token ids can be read with np.load.

import type { HostTensor } from "../engine/host-tensor.js";
import type { DType } from "../engine/graph/dtype.js";

const DESCR: Record<DType, string> = { float32: "<f4", float64: "<f8", int64: "<i8", int32: "<i4", uint8: "|u1", bool: "|b1" };

export function encodeNpy(t: HostTensor): Uint8Array {
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(", ")})`;
  let header = `{'descr': '${DESCR[t.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Magic (6) + version (2) + length (2) + header + newline, padded to a multiple of 64.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, " ") + "\n";
  const out = new Uint8Array(total + t.data.byteLength);
  out.set([0x93, ...new TextEncoder().encode("NUMPY"), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), total);
  return out;
}
