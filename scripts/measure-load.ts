// Peak memory of loading released-size weights (issue 16: loading should peak near the weights'
// own size). `write` streams random float32 weights for the official 14-bit generator config (key
// and shape list from src/models/generator) to a torch.save-style .bin (stored members, 64-byte
// aligned, as torch writes them) and a .safetensors; `read` loads one in a fresh process and
// reports the weights' size and the process's peak RSS. Run each read on its own:
//   npx tsx scripts/measure-load.ts write /tmp/g14
//   /usr/bin/time -v npx tsx scripts/measure-load.ts read /tmp/g14.bin
//   npx tsx scripts/measure-load.ts read /tmp/g14.safetensors

import "../src/node/platform.js";
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { loadGeneratorConfig } from "../src/models/generator/config.js";
import { generatorParamSpecs } from "../src/models/generator/transformer.js";
import { readTorchCheckpoint } from "../src/io/torch-checkpoint.js";
import { readSafetensors } from "../src/io/safetensors.js";
import { stateDictPickle, type FakeTensor } from "../test/io/pickle-bytes.js";
import { crc32, header } from "../test/io/zip-bytes.js";

const CONFIG = join(import.meta.dirname, "../../shared/reference/official-configs/generator/maskbit_generator_14bit.yaml");
const STORAGE_TYPE = { float32: "FloatStorage", float64: "DoubleStorage", int64: "LongStorage", int32: "IntStorage", uint8: "ByteStorage", bool: "BoolStorage" } as const;
const ITEM = { float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1 } as const;

function specs() {
  return generatorParamSpecs(loadGeneratorConfig(CONFIG)).map((s) => ({ key: s.key, dtype: s.dtype, shape: [...s.shape], numel: s.shape.reduce((a, b) => a * b, 1) }));
}

/** Deterministic pseudo-random bytes (xorshift32), fast enough for a gigabyte. */
function fill(bytes: Uint8Array, seed: number): void {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  let x = seed | 1;
  // Small float32 values (exponent kept in range) so the data looks like weights, not NaNs.
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    words[i] = ((x >>> 0) & 0x807fffff) | 0x3c000000;
  }
}

function write(base: string): void {
  const list = specs();
  const total = list.reduce((n, s) => n + s.numel * ITEM[s.dtype], 0);
  console.log(`${list.length} tensors, ${(total / 2 ** 30).toFixed(3)} GiB`);
  const tensors: FakeTensor[] = list.map((s, i) => ({
    key: s.key, storage: String(i), storageType: STORAGE_TYPE[s.dtype], numel: s.numel, offset: 0, size: s.shape,
    stride: s.shape.map((_, d) => s.shape.slice(d + 1).reduce((a, b) => a * b, 1)),
  }));
  // .bin: a stored zip; each member's data starts at a multiple of 64 bytes, like torch.save.
  const fd = openSync(`${base}.bin`, "w");
  const central: Uint8Array[] = [];
  let offset = 0;
  const put = (b: Uint8Array) => { for (let done = 0; done < b.length;) done += writeSync(fd, b, done, b.length - done); offset += b.length; };
  const member = (name: string, data: Uint8Array) => {
    const n = new TextEncoder().encode(name), crc = crc32(data);
    const pad = (64 - ((offset + 30 + n.length + 4) % 64)) % 64;
    const extra = new Uint8Array(4 + pad);
    new DataView(extra.buffer).setUint16(0, 0xcafe, true);
    new DataView(extra.buffer).setUint16(2, pad, true);
    const at = offset;
    put(header(30, 0x04034b50, 0, crc, data.length, data.length, n.length, extra.length));
    put(n); put(extra); put(data);
    central.push(header(46, 0x02014b50, 0, crc, data.length, data.length, n.length, 0, at), n);
  };
  member("archive/data.pkl", stateDictPickle(tensors));
  member("archive/byteorder", new TextEncoder().encode("little"));
  const safetensorsData: Uint8Array[] = [];
  list.forEach((s, i) => {
    const data = new Uint8Array(s.numel * ITEM[s.dtype]);
    if (s.dtype === "float32") fill(data, i + 1);
    member(`archive/data/${i}`, data);
    safetensorsData.push(data);
  });
  const cdOffset = offset;
  for (const c of central) put(c);
  const eocd = new Uint8Array(22), v = new DataView(eocd.buffer);
  v.setUint32(0, 0x06054b50, true);
  v.setUint16(8, central.length / 2, true);
  v.setUint16(10, central.length / 2, true);
  v.setUint32(12, offset - cdOffset, true);
  v.setUint32(16, cdOffset, true);
  put(eocd);
  closeSync(fd);
  // .safetensors: header keys sorted, data in the same order, 8-byte aligned header.
  const order = list.map((s, i) => ({ ...s, i })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  let at = 0;
  const fields = order.map((s) => {
    const n = s.numel * ITEM[s.dtype];
    const f = `${JSON.stringify(s.key)}:${JSON.stringify({ dtype: { float32: "F32", float64: "F64", int64: "I64", int32: "I32", uint8: "U8", bool: "BOOL" }[s.dtype], shape: s.shape, data_offsets: [at, at + n] })}`;
    at += n;
    return f;
  });
  const json = new TextEncoder().encode(`{${fields.join(",")}}`);
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const head = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  const sd = openSync(`${base}.safetensors`, "w");
  for (const b of [head, ...order.map((s) => safetensorsData[s.i]!)]) for (let done = 0; done < b.length;) done += writeSync(sd, b, done, b.length - done);
  closeSync(sd);
}

function read(path: string): void {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 5);
  const baseline = process.memoryUsage().rss;
  const t0 = performance.now();
  const tensors = path.endsWith(".safetensors") ? readSafetensors(path).tensors : readTorchCheckpoint(path);
  const seconds = (performance.now() - t0) / 1000;
  peak = Math.max(peak, process.memoryUsage().rss);
  clearInterval(timer);
  let bytes = 0, views = 0;
  const buffers = new Set<ArrayBufferLike>();
  for (const t of tensors.values()) {
    bytes += t.data.byteLength;
    buffers.add(t.data.buffer);
    if (t.data.byteLength < t.data.buffer.byteLength) views++;
  }
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(3)} GiB`;
  console.log(JSON.stringify({
    file: path, tensors: tensors.size, weights: gib(bytes), baselineRss: gib(baseline), peakRss: gib(peak),
    peakOverWeights: +(peak / bytes).toFixed(3), peakAboveBaselineOverWeights: +((peak - baseline) / bytes).toFixed(3),
    tensorsThatAreViews: views, distinctBuffers: buffers.size, seconds: +seconds.toFixed(2),
  }));
}

const [mode, path] = process.argv.slice(2);
if (mode === "write" && path) write(path);
else if (mode === "read" && path) read(path);
else {
  console.error("usage: measure-load.ts write <base> | read <file.bin|file.safetensors>");
  process.exit(2);
}
