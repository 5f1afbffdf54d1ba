// The subset of the ONNX protobuf schema maskbit writes, with a wire-format encoder of its own.
// Writing (never reading) a handful of message types is a few dozen lines, and keeping it here
// keeps protobuf runtimes and their Node-flavoured type declarations out of the browser bundle
// and out of consumers' type checks. Field numbers are those of onnx/onnx.proto.

export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;
export type AttributeTypeCode = (typeof AttributeType)[keyof typeof AttributeType];

export interface TensorProto {
  name: string;
  dataType: number;
  dims: readonly number[];
  /** Little-endian element bytes (absent when the data lives in an external file). */
  rawData?: Uint8Array;
  /** ONNX external data: location, offset and length of the bytes in a file beside the model. */
  externalData?: readonly { readonly key: string; readonly value: string }[];
}

export interface AttributeProto {
  name: string;
  type: AttributeTypeCode;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  floats?: readonly number[];
  ints?: readonly number[];
}

export interface NodeProto {
  opType: string;
  domain: string;
  name: string;
  input: readonly string[];
  output: readonly string[];
  attribute: readonly AttributeProto[];
}

export interface ValueInfoProto {
  name: string;
  elemType: number;
  /** A number is a fixed size, a string a named (symbolic) dimension. */
  shape: readonly (number | string)[];
  docString?: string;
}

export interface ModelProto {
  irVersion: number;
  producerName: string;
  opsetImport: readonly { readonly domain: string; readonly version: number }[];
  docString?: string;
  metadataProps?: readonly { readonly key: string; readonly value: string }[];
  graph: {
    name: string;
    node: readonly NodeProto[];
    initializer: readonly TensorProto[];
    input: readonly ValueInfoProto[];
    output: readonly ValueInfoProto[];
  };
}

/** A message under construction: byte chunks (large raw data is referenced, not copied) and their total length. */
class Writer {
  readonly chunks: Uint8Array[] = [];
  length = 0;
  private scratch: number[] = [];

  private flushScratch(): void {
    if (this.scratch.length) {
      const b = Uint8Array.from(this.scratch);
      this.chunks.push(b);
      this.length += b.length;
      this.scratch = [];
    }
  }

  private varint(v: number | bigint): void {
    if (typeof v === "number" && v >= 0 && Number.isSafeInteger(v)) {
      while (v >= 0x80) {
        this.scratch.push((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
      }
      this.scratch.push(v);
      return;
    }
    // Negative int64 values are written as their 64-bit two's complement (10 bytes).
    let u = BigInt.asUintN(64, BigInt(v));
    while (u >= 0x80n) {
      this.scratch.push(Number(u & 0x7fn) | 0x80);
      u >>= 7n;
    }
    this.scratch.push(Number(u));
  }

  private tag(field: number, wire: 0 | 2 | 5): void {
    this.varint(field * 8 + wire);
  }

  int(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v);
  }

  float(field: number, v: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.scratch.push(...b);
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    if (b.length < 64) {
      for (const x of b) this.scratch.push(x);
      return;
    }
    this.flushScratch();
    this.chunks.push(b);
    this.length += b.length;
  }

  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: Writer): void {
    m.flushScratch();
    this.tag(field, 2);
    this.varint(m.length);
    this.flushScratch();
    this.chunks.push(...m.chunks);
    this.length += m.length;
  }

  finish(): Uint8Array {
    this.flushScratch();
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

function sub(fill: (w: Writer) => void): Writer {
  const w = new Writer();
  fill(w);
  return w;
}

const entry = (e: { readonly key: string; readonly value: string }) => sub((w) => { w.string(1, e.key); w.string(2, e.value); });

function tensor(t: TensorProto): Writer {
  return sub((w) => {
    for (const d of t.dims) w.int(1, d);
    w.int(2, t.dataType);
    w.string(8, t.name);
    if (t.rawData) w.bytes(9, t.rawData);
    if (t.externalData) {
      for (const e of t.externalData) w.message(13, entry(e));
      w.int(14, 1); // data_location = EXTERNAL
    }
  });
}

function attribute(a: AttributeProto): Writer {
  return sub((w) => {
    w.string(1, a.name);
    if (a.f !== undefined) w.float(2, a.f);
    if (a.i !== undefined) w.int(3, a.i);
    if (a.s !== undefined) w.bytes(4, a.s);
    if (a.t !== undefined) w.message(5, tensor(a.t));
    for (const f of a.floats ?? []) w.float(7, f);
    for (const i of a.ints ?? []) w.int(8, i);
    w.int(20, a.type);
  });
}

function node(n: NodeProto): Writer {
  return sub((w) => {
    for (const i of n.input) w.string(1, i);
    for (const o of n.output) w.string(2, o);
    w.string(3, n.name);
    w.string(4, n.opType);
    for (const a of n.attribute) w.message(5, attribute(a));
    if (n.domain) w.string(7, n.domain);
  });
}

function valueInfo(v: ValueInfoProto): Writer {
  const shape = sub((w) => {
    for (const d of v.shape) w.message(1, sub((dw) => (typeof d === "number" ? dw.int(1, d) : dw.string(2, d))));
  });
  const tensorType = sub((w) => { w.int(1, v.elemType); w.message(2, shape); });
  return sub((w) => {
    w.string(1, v.name);
    w.message(2, sub((tw) => tw.message(1, tensorType)));
    if (v.docString) w.string(3, v.docString);
  });
}

/** Serialises a model to ONNX protobuf bytes. */
export function encodeModel(m: ModelProto): Uint8Array {
  const graph = sub((w) => {
    for (const n of m.graph.node) w.message(1, node(n));
    w.string(2, m.graph.name);
    for (const t of m.graph.initializer) w.message(5, tensor(t));
    for (const i of m.graph.input) w.message(11, valueInfo(i));
    for (const o of m.graph.output) w.message(12, valueInfo(o));
  });
  const model = sub((w) => {
    w.int(1, m.irVersion);
    w.string(2, m.producerName);
    if (m.docString) w.string(6, m.docString);
    w.message(7, graph);
    for (const o of m.opsetImport) w.message(8, sub((ow) => { if (o.domain) ow.string(1, o.domain); ow.int(2, o.version); }));
    for (const p of m.metadataProps ?? []) w.message(14, entry(p));
  });
  return model.finish();
}
