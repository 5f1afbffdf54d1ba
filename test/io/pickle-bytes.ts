// Hand-assembled pickle streams and torch.save-style zips, so tests can exercise opcodes, hostile
// globals and odd tensor layouts without PyTorch.

import { zipSync } from "fflate";

export class PickleBuilder {
  private readonly bytes: number[] = [];

  op(code: number, ...payload: number[]): this {
    this.bytes.push(code, ...payload);
    return this;
  }
  proto(v = 2): this { return this.op(0x80, v); }
  mark(): this { return this.op(0x28); }
  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.op(0x58, ...u32(b.length), ...b);
  }
  int(v: number): this {
    if (v >= 0 && v < 256) return this.op(0x4b, v);
    if (v >= 0 && v < 65536) return this.op(0x4d, v & 0xff, v >> 8);
    return this.op(0x4a, ...u32(v >>> 0));
  }
  /** LONG1 with the minimal two's-complement little-endian encoding. */
  long(v: bigint): this {
    const out: number[] = [];
    let x = v;
    for (;;) {
      out.push(Number(x & 0xffn));
      x >>= 8n;
      const sign = out[out.length - 1]! & 0x80;
      if ((x === 0n && !sign) || (x === -1n && sign)) break;
    }
    return this.op(0x8a, out.length, ...out);
  }
  float(v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, false);
    return this.op(0x47, ...b);
  }
  tuple(n: 0 | 1 | 2 | 3): this { return this.op([0x29, 0x85, 0x86, 0x87][n]!); }
  tupleMark(): this { return this.op(0x74); }
  put(i: number): this { return this.op(0x71, i); }
  get(i: number): this { return this.op(0x68, i); }
  reduce(): this { return this.op(0x52); }
  stop(): this { return this.op(0x2e); }
  build(): Uint8Array { return Uint8Array.from(this.bytes); }
}

function u32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

export interface FakeTensor {
  readonly key: string;
  readonly storage: string;
  readonly storageType: string;
  readonly numel: number;
  readonly offset: number;
  readonly size: readonly number[];
  readonly stride: readonly number[];
}

/** The pickle torch.save writes for OrderedDict{key: _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())}. */
export function stateDictPickle(tensors: readonly FakeTensor[]): Uint8Array {
  const p = new PickleBuilder().proto().global("collections", "OrderedDict").put(0).tuple(0).reduce().mark();
  for (const t of tensors) {
    p.str(t.key).global("torch._utils", "_rebuild_tensor_v2").mark()
      .mark().str("storage").global("torch", t.storageType).str(t.storage).str("cpu").int(t.numel).tupleMark().op(0x51)
      .int(t.offset).mark();
    for (const d of t.size) p.int(d);
    p.tupleMark().mark();
    for (const s of t.stride) p.int(s);
    p.tupleMark().op(0x89).get(0).tuple(0).reduce().tupleMark().reduce();
  }
  return p.op(0x75).stop().build();
}

/** A torch.save-style zip; level 0 stores members as torch does, a higher level deflates them. */
export function torchZip(pickle: Uint8Array, storages: Record<string, Uint8Array>, level: 0 | 6 = 0, root = "archive"): Uint8Array {
  const members: Record<string, Uint8Array> = { [`${root}/data.pkl`]: pickle, [`${root}/byteorder`]: new TextEncoder().encode("little") };
  for (const [key, bytes] of Object.entries(storages)) members[`${root}/data/${key}`] = bytes;
  return zipSync(members, { level });
}

export function bytesOf(a: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
