// Writes `torch.save(state_dict)`-compatible checkpoints, so a maskbit-trained model loads with
// `torch.load(path, weights_only=True)` and the official code's load_pretrained. Platform-free:
// the result is bytes (src/node/atomic-file.ts puts them on disk in Node).
//
// Layout, as torch.save (PyTorch >= 1.6) writes it: a zip with STORED members
//   <root>/data.pkl    pickle protocol 2 of an OrderedDict key -> _rebuild_tensor_v2(...)
//   <root>/byteorder   "little"
//   <root>/data/<n>    one raw little-endian storage per tensor, named by its index
//   <root>/version     "3"
// The pickle uses only globals that torch.load's weights_only unpickler allows
// (collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch.<T>Storage) and each tensor's
// storage is the persistent id ('storage', torch.<T>Storage, '<n>', 'cpu', numel). Member data
// starts on a 64-byte boundary (padding in the local header's extra field), as PyTorch's own writer
// does, so a reader can view tensors in place.

import type { HostTensor } from "../engine/host-tensor.js";
import type { DType } from "../engine/graph/dtype.js";
import { CheckpointError } from "../engine/errors.js";
import { StoredZip } from "./zip-writer.js";

const OP = "encodeTorchCheckpoint";

/** The storage class torch uses for each dtype. */
export const STORAGE_OF: Readonly<Record<DType, string>> = {
  float32: "FloatStorage", float64: "DoubleStorage", int64: "LongStorage", int32: "IntStorage", uint8: "ByteStorage", bool: "BoolStorage",
};

export interface TorchWriteOptions {
  /** The archive's root folder (torch.save uses the file's stem; any name loads). */
  readonly root?: string;
}

/** The whole checkpoint as bytes. */
export function encodeTorchCheckpoint(state: ReadonlyMap<string, HostTensor>, opts: TorchWriteOptions = {}): Uint8Array {
  const parts = encodeTorchCheckpointParts(state, opts);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** The checkpoint as consecutive chunks (tensor data not copied), for writing without one big buffer. */
export function encodeTorchCheckpointParts(state: ReadonlyMap<string, HostTensor>, opts: TorchWriteOptions = {}): Uint8Array[] {
  const root = opts.root ?? "archive";
  if (!/^[A-Za-z0-9_.-]+$/.test(root)) throw new CheckpointError({ op: OP, expected: "a root folder name of letters, digits, _ . -", got: JSON.stringify(root) });
  const zip = new StoredZip(OP);
  zip.add(`${root}/data.pkl`, pickleStateDict(state));
  zip.add(`${root}/byteorder`, ascii("little"));
  let n = 0;
  for (const t of state.values()) zip.add(`${root}/data/${n++}`, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  zip.add(`${root}/version`, ascii("3\n"));
  return zip.finish();
}

// --- pickle ----------------------------------------------------------------------------------

const PROTO = 0x80, GLOBAL = 0x63, EMPTY_TUPLE = 0x29, REDUCE = 0x52, MARK = 0x28, TUPLE = 0x74, SETITEMS = 0x75;
const BINUNICODE = 0x58, BININT1 = 0x4b, BININT2 = 0x4d, BININT = 0x4a, LONG1 = 0x8a, NEWFALSE = 0x89, BINPERSID = 0x51, STOP = 0x2e;

class PickleWriter {
  private readonly chunks: number[] = [];
  op(...bytes: number[]): this { for (const b of bytes) this.chunks.push(b); return this; }
  global(module: string, name: string): this { return this.op(GLOBAL, ...ascii(`${module}\n${name}\n`)); }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.op(BINUNICODE, ...le32(b.length), ...b);
  }
  int(v: number): this {
    if (v < 0x100) return this.op(BININT1, v);
    if (v < 0x10000) return this.op(BININT2, v & 0xff, v >>> 8);
    if (v < 0x80000000) return this.op(BININT, ...le32(v));
    // LONG1: little-endian two's complement; non-negative, so a trailing zero byte keeps the sign.
    const bytes: number[] = [];
    for (let x = BigInt(v); x > 0n; x >>= 8n) bytes.push(Number(x & 0xffn));
    if (bytes[bytes.length - 1]! & 0x80) bytes.push(0);
    return this.op(LONG1, bytes.length, ...bytes);
  }
  intTuple(values: readonly number[]): this {
    if (values.length === 0) return this.op(EMPTY_TUPLE);
    this.op(MARK);
    for (const v of values) this.int(v);
    return this.op(TUPLE);
  }
  bytes(): Uint8Array { return Uint8Array.from(this.chunks); }
}

function pickleStateDict(state: ReadonlyMap<string, HostTensor>): Uint8Array {
  const p = new PickleWriter().op(PROTO, 2);
  p.global("collections", "OrderedDict").op(EMPTY_TUPLE, REDUCE);
  if (state.size > 0) p.op(MARK);
  let n = 0;
  for (const [key, t] of state) {
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new CheckpointError({ op: OP, scope: key, expected: "a tensor with a concrete shape", got: `[${t.shape.join(", ")}]` });
    p.str(key);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op(MARK); // the argument tuple
    // Persistent id of the storage: ('storage', torch.<T>Storage, key, location, numel).
    p.op(MARK).str("storage").global("torch", STORAGE_OF[t.dtype]).str(String(n++)).str("cpu").int(t.data.length).op(TUPLE, BINPERSID);
    p.int(0).intTuple(t.shape).intTuple(contiguousStrides(t.shape)).op(NEWFALSE);
    p.global("collections", "OrderedDict").op(EMPTY_TUPLE, REDUCE); // backward hooks: none
    p.op(TUPLE, REDUCE);
  }
  if (state.size > 0) p.op(SETITEMS);
  return p.op(STOP).bytes();
}

function contiguousStrides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let step = 1;
  for (let d = shape.length - 1; d >= 0; d--) { out[d] = step; step *= shape[d]!; }
  return out;
}

function ascii(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
