// Resource bombs from issue 12, each built here in a few KB: every one must end in a MaskbitError
// that names the limit (and how to raise it) without allocating what the file claims. Plus the
// no-copy guarantees of issue 16: tensors are views of the bytes read where alignment allows.

import { test } from "node:test";
import assert from "node:assert/strict";
import { deflateRawSync, constants as zlibConstants } from "node:zlib";
import { readTorchCheckpoint } from "../../src/io/torch-checkpoint.js";
import { encodeSafetensors, readSafetensors } from "../../src/io/safetensors.js";
import { decodeImage8 } from "../../src/io/image.js";
import { unpickle, type PyValue } from "../../src/io/pickle.js";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { CheckpointError, MaskbitError } from "../../src/engine/errors.js";
import { DataError } from "../../src/io/data-error.js";
import { PickleBuilder, bytesOf, stateDictPickle, torchZip, type FakeTensor } from "./pickle-bytes.js";
import { buildZip, crc32 } from "./zip-bytes.js";

function refused<E extends MaskbitError>(fn: () => unknown, type: new (...a: never[]) => E, pattern: RegExp): E {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof type, `expected a ${type.name}, got ${String(caught)}`);
  assert.match(caught.message, pattern);
  return caught;
}

test("a 16384 x 16384 stride-0 view of a one-element storage is refused without materialising it", () => {
  const t: FakeTensor = { key: "w", storage: "0", storageType: "FloatStorage", numel: 1, offset: 0, size: [16384, 16384], stride: [0, 0] };
  const file = torchZip(stateDictPickle([t]), { "0": bytesOf(Float32Array.of(1)) });
  assert.ok(file.length < 1024, `${file.length} bytes`);
  const e = refused(() => readTorchCheckpoint(file, "stride0.bin"), CheckpointError, /at most the storage's 1 elements/);
  assert.match(e.hint ?? "", /stride-0/);
  // At 65536^2 the element count passes 2^32: still a CheckpointError, never a RangeError.
  refused(() => readTorchCheckpoint(torchZip(stateDictPickle([{ ...t, size: [65536, 65536] }]), { "0": new Uint8Array(4) })), CheckpointError, /storage's 1 elements/);
});

test("overlapping strides that need more elements than the storage holds are refused; a legal strided view is gathered", () => {
  const base = { key: "w", storage: "0", storageType: "FloatStorage", numel: 6, offset: 0 };
  const storage = { "0": bytesOf(Float32Array.from([0, 1, 2, 3, 4, 5])) };
  // [4, 3] with stride [1, 1] stays inside 6 elements but repeats them: 12 > 6.
  refused(() => readTorchCheckpoint(torchZip(stateDictPickle([{ ...base, size: [4, 3], stride: [1, 1] }]), storage)), CheckpointError, /at most the storage's 6 elements/);
  const t = readTorchCheckpoint(torchZip(stateDictPickle([{ ...base, size: [3, 2], stride: [1, 3] }]), storage)).get("w")!;
  assert.deepEqual(Array.from(t.data as Float32Array), [0, 3, 1, 4, 2, 5]);
});

test("a 256 KB LONG4 is refused at once by maxIntBytes; a raised bound still reads 64-bit values", () => {
  const n = 256 * 1024;
  const body = new Uint8Array(5 + n + 1);
  body[0] = 0x8b;
  new DataView(body.buffer).setUint32(1, n, true);
  body[body.length - 1] = 0x2e;
  const pickle = Uint8Array.from([0x80, 2, ...body]);
  const opts = {
    source: "long4.pkl",
    resolveGlobal: (): PyValue<never> => { throw new Error("unused"); },
    persistentLoad: (): PyValue<never> => { throw new Error("unused"); },
    describe: (): string => "",
  };
  const e = refused(() => unpickle(pickle, opts), CheckpointError, /maxIntBytes = 8/);
  assert.match(e.hint ?? "", /limits: \{ maxIntBytes \}/);
  refused(() => readTorchCheckpoint(torchZip(pickle, {}), "long4.bin"), CheckpointError, /maxIntBytes/);
  const u64 = new PickleBuilder().proto().long(2n ** 63n - 1n).stop().build();
  assert.equal(unpickle(u64, opts), 2n ** 63n - 1n);
  const big = new PickleBuilder().proto().long(2n ** 70n).stop().build();
  refused(() => unpickle(big, opts), CheckpointError, /maxIntBytes/);
  assert.equal(unpickle(big, { ...opts, limits: { maxIntBytes: 16 } }), 2n ** 70n);
});

test("pickle strings, stack and memo are bounded", () => {
  const opts = {
    source: "s.pkl",
    resolveGlobal: (): PyValue<never> => { throw new Error("unused"); },
    persistentLoad: (): PyValue<never> => { throw new Error("unused"); },
    describe: (): string => "",
  };
  const str = new PickleBuilder().proto().str("x".repeat(100)).stop().build();
  refused(() => unpickle(str, { ...opts, limits: { maxStringBytes: 99 } }), CheckpointError, /maxStringBytes = 99/);
  // BINUNICODE claiming 4 GB in a 20-byte stream: refused by the bound, nothing allocated.
  const claim = Uint8Array.from([0x80, 2, 0x58, 0xff, 0xff, 0xff, 0xff, 0x2e]);
  refused(() => unpickle(claim, opts), CheckpointError, /maxStringBytes/);
  const nones = new PickleBuilder().proto();
  for (let i = 0; i < 20; i++) nones.op(0x4e);
  refused(() => unpickle(nones.stop().build(), { ...opts, limits: { maxStackSize: 10 } }), CheckpointError, /maxStackSize = 10/);
  const memo = new PickleBuilder().proto().op(0x4e);
  for (let i = 0; i < 20; i++) memo.put(i);
  refused(() => unpickle(memo.stop().build(), { ...opts, limits: { maxMemoSize: 10 } }), CheckpointError, /maxMemoSize = 10/);
  // A million APPENDS items no longer overflow the call stack (they were spread into push()).
  const appends = new PickleBuilder().proto().op(0x5d).mark();
  for (let i = 0; i < 200_000; i++) appends.op(0x4e);
  const list = unpickle(appends.op(0x65).stop().build(), opts);
  assert.equal((list as { items: unknown[] }).items.length, 200_000);
});

/** A raw DEFLATE stream of `mib` MiB of zeros, built from one flushed 1 MiB segment repeated. */
function zerosDeflated(mib: number): Uint8Array {
  const segment = deflateRawSync(new Uint8Array(1 << 20), { level: 9, finishFlush: zlibConstants.Z_SYNC_FLUSH });
  const end = deflateRawSync(new Uint8Array(0));
  const out = new Uint8Array(segment.length * mib + end.length);
  for (let i = 0; i < mib; i++) out.set(segment, i * segment.length);
  out.set(end, segment.length * mib);
  return out;
}

function bombZip(storage: Uint8Array, declared: number, numel: number): Uint8Array {
  const t: FakeTensor = { key: "w", storage: "0", storageType: "ByteStorage", numel, offset: 0, size: [numel], stride: [1] };
  return buildZip([
    { name: "archive/data.pkl", data: stateDictPickle([t]) },
    { name: "archive/byteorder", data: new TextEncoder().encode("little") },
    { name: "archive/data/0", data: storage, method: 8, size: declared, crc: 0 },
  ]);
}

test("zip bomb: a 1.5 MB member inflating to 1.5 GB is refused from its declared size, before inflating", () => {
  const gib15 = 1430; // MiB: 1.5e9 bytes
  const bomb = zerosDeflated(gib15);
  assert.ok(bomb.length < 2_000_000, `${bomb.length} compressed bytes`);
  const file = bombZip(bomb, gib15 << 20, gib15 << 20);
  const e = refused(() => readTorchCheckpoint(file, "bomb.bin"), CheckpointError, /maxInflatedBytes = 1073741824/);
  assert.match(e.hint ?? "", /limits: \{ maxInflatedBytes \}/);
  // With the size bound raised, the compression ratio still refuses it.
  refused(() => readTorchCheckpoint(file, "bomb.bin", { limits: { maxInflatedBytes: 2 ** 31 } }), CheckpointError, /maxCompressionRatio = 200/);
});

test("a deflated member whose header understates its size stops inflating at the declared size", () => {
  const stream = zerosDeflated(64);
  const declared = 4 << 20;
  const file = bombZip(stream, declared, declared);
  refused(() => readTorchCheckpoint(file, "liar.bin", { limits: { maxCompressionRatio: 2000 } }), CheckpointError, /at most the declared 4194304 bytes/);
});

test("unreferenced members are never inflated, even if they are bombs", () => {
  const t: FakeTensor = { key: "w", storage: "0", storageType: "FloatStorage", numel: 2, offset: 0, size: [2], stride: [1] };
  const file = buildZip([
    { name: "archive/data.pkl", data: stateDictPickle([t]) },
    { name: "archive/data/0", data: bytesOf(Float32Array.of(1, 2)) },
    { name: "archive/junk", data: zerosDeflated(8), method: 8, size: 3 << 30, crc: 0 },
  ]);
  assert.deepEqual(Array.from(readTorchCheckpoint(file).get("w")!.data as Float32Array), [1, 2]);
});

test("stored, aligned storages are views of the file bytes; contiguous tensors are views of their storage", () => {
  const weights = Float32Array.from({ length: 12 }, (_, i) => i / 4);
  const a: FakeTensor = { key: "a", storage: "0", storageType: "FloatStorage", numel: 12, offset: 0, size: [3, 4], stride: [4, 1] };
  const b: FakeTensor = { ...a, key: "b", offset: 4, size: [4], stride: [1] };
  const pickle = stateDictPickle([a, b]);
  const file = buildZip([{ name: "archive/data.pkl", data: pickle }, { name: "archive/data/0", data: bytesOf(weights), crc: crc32(bytesOf(weights)) }]);
  const sd = readTorchCheckpoint(file);
  const ta = sd.get("a")!, tb = sd.get("b")!;
  assert.equal(ta.data.buffer, file.buffer, "a is a view of the file bytes");
  assert.equal(tb.data.buffer, file.buffer, "b is a view of the file bytes");
  assert.deepEqual(Array.from(tb.data as Float32Array), [1, 1.25, 1.5, 1.75]);
  // A misaligned member (fflate writes no padding) is copied once and still reads right.
  const copied = readTorchCheckpoint(torchZip(pickle, { "0": bytesOf(weights) }));
  assert.deepEqual(Array.from(copied.get("a")!.data as Float32Array), Array.from(weights));
});

test("safetensors from bytes: aligned tensors are views, misaligned ones copies with the same values", () => {
  const tensors = new Map<string, HostTensor>([
    ["a", HostTensor.f32([1, 2, 3, 4], [2, 2])],
    ["b", new HostTensor("uint8", [3], Uint8Array.of(7, 8, 9))],
    ["c", HostTensor.f32([5, 6], [2])],
  ]);
  const bytes = encodeSafetensors(tensors);
  const back = readSafetensors(bytes).tensors;
  assert.equal(back.get("a")!.data.buffer, bytes.buffer, "aligned F32 is a view");
  assert.equal(back.get("b")!.data.buffer, bytes.buffer, "U8 is always a view");
  assert.notEqual(back.get("c")!.data.buffer, bytes.buffer, "F32 after 3 bytes is misaligned: copied");
  assert.deepEqual(Array.from(back.get("c")!.data as Float32Array), [5, 6]);
});

test("a 300,000-character safetensors metadata value (class name) is refused by maxMetadataValueChars", () => {
  const names = JSON.stringify(["x".repeat(300_000)]);
  const bytes = encodeSafetensors(new Map([["w", HostTensor.f32([1])]]), { class_names: names });
  const e = refused(() => readSafetensors(bytes, "named.safetensors"), CheckpointError, /maxMetadataValueChars = 65536/);
  assert.match(e.got, /300004 characters/);
  assert.equal(readSafetensors(bytes, "named.safetensors", { limits: { maxMetadataValueChars: 400_000 } }).metadata.class_names, names);
});

function safetensorsWithHeader(header: unknown, dataBytes = 0): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

test("safetensors header limits: size, tensor count, rank, shape overflow, dtype/size mismatch", () => {
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
  refused(() => readSafetensors(huge), CheckpointError, /maxHeaderBytes/);
  const many = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`t${i}`, { dtype: "U8", shape: [0], data_offsets: [0, 0] }]));
  refused(() => readSafetensors(safetensorsWithHeader(many), "many", { limits: { maxTensors: 10 } }), CheckpointError, /maxTensors = 10/);
  refused(() => readSafetensors(safetensorsWithHeader({ t: { dtype: "U8", shape: new Array(40).fill(1), data_offsets: [0, 1] } }, 1)), CheckpointError, /maxRank = 32/);
  refused(() => readSafetensors(safetensorsWithHeader({ t: { dtype: "F32", shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 4] } }, 4)), CheckpointError, /below 2\^53/);
  refused(() => readSafetensors(safetensorsWithHeader({ t: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, 8)), CheckpointError, /12 bytes for F32 \[3\]/);
  const meta = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, "v"]));
  refused(() => readSafetensors(safetensorsWithHeader({ __metadata__: meta }), "m", { limits: { maxMetadataEntries: 4 } }), CheckpointError, /maxMetadataEntries = 4/);
  // "__proto__" in the header is a plain metadata entry, not a prototype change.
  const proto = new TextEncoder().encode('{"__metadata__":{"__proto__":"x"}}');
  const file = new Uint8Array(8 + proto.length);
  new DataView(file.buffer).setBigUint64(0, BigInt(proto.length), true);
  file.set(proto, 8);
  const md = readSafetensors(file).metadata;
  assert.equal(Object.getPrototypeOf(md), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(md, "__proto__")?.value, "x");
});

test("a 16000 x 16000 PNG is refused from its header, before decoding; non-image bytes get a DataError", async () => {
  const { pngDeclaring } = await import("./zip-bytes.js");
  const png = pngDeclaring(16000, 16000, deflateRawSync(new Uint8Array(100)));
  assert.ok(png.length < 1024);
  const before = process.memoryUsage().rss;
  await assert.rejects(decodeImage8(png), (e: unknown) => {
    assert.ok(e instanceof DataError, String(e));
    assert.match(e.message, /maxPixels = 67108864.*16000 x 16000 = 256000000 pixels/);
    return true;
  });
  assert.ok(process.memoryUsage().rss - before < 200 << 20, "nothing near 768 MB of pixels was allocated");
  await assert.rejects(decodeImage8(new TextEncoder().encode("not an image at all")), DataError);
  await assert.rejects(decodeImage8(new Uint8Array(0)), DataError);
});

test("maxPixels bounds real images too, and raising it lets them through", async () => {
  const png = await (await import("sharp")).default({ create: { width: 40, height: 30, channels: 3, background: { r: 9, g: 99, b: 199 } } }).png().toBuffer();
  await assert.rejects(decodeImage8(png, { maxPixels: 1000 }), (e: unknown) => e instanceof DataError && /40 x 30 = 1200 pixels/.test(e.got));
  const img = await decodeImage8(png, { maxPixels: 1200 });
  assert.deepEqual([img.channels, img.height, img.width], [3, 30, 40]);
  assert.equal(img.data[0], 9);
});
