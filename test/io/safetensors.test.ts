import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeSafetensors, readSafetensors, writeSafetensors } from "../../src/io/safetensors.js";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { CheckpointError } from "../../src/engine/errors.js";

const GOLDEN = join(import.meta.dirname, "../../../shared/golden");

const sample = (): Map<string, HostTensor> => new Map<string, HostTensor>([
  ["w", HostTensor.f32([1.5, -2, 3.25, 0], [2, 2])],
  ["d", HostTensor.f64([Math.PI, -1e-300], [2])],
  ["ids", HostTensor.i64([0n, -1n, 2n ** 62n], [3])],
  ["i32", new HostTensor("int32", [1], Int32Array.from([-7]))],
  ["img", new HostTensor("uint8", [1, 3], Uint8Array.from([0, 128, 255]))],
  ["mask", new HostTensor("bool", [2], Uint8Array.from([1, 0]))],
  ["scalar", HostTensor.f32([7], [])],
  ["empty", HostTensor.f32([], [0, 4])],
]);

/** A file from a hand-written header object and data section. */
function craft(header: unknown, data: Uint8Array = new Uint8Array(0), headerLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function headerOf(bytes: Uint8Array): { text: string; length: number } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { text: new TextDecoder().decode(bytes.subarray(8, 8 + length)), length };
}

function assertRefused(fn: () => unknown, check: (e: CheckpointError) => boolean, label: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `${label}: ${String(e)}`);
    assert.ok(check(e), `${label}: ${e.message}`);
    return true;
  });
}

test("round trip of F32 F64 I64 I32 U8 BOOL, scalars, empty tensors and metadata", () => {
  const tensors = sample();
  const back = readSafetensors(encodeSafetensors(tensors, { format: "pt", note: "ünïcode" }));
  assert.deepEqual(back.metadata, { format: "pt", note: "ünïcode" });
  assert.deepEqual([...back.tensors.keys()].sort(), [...tensors.keys()].sort());
  for (const [key, t] of tensors) {
    const got = back.tensors.get(key)!;
    assert.equal(got.dtype, t.dtype, key);
    assert.deepEqual(got.shape, t.shape, key);
    assert.deepEqual(got.data, t.data, key);
  }
});

test("header keys are sorted (integer-like keys too), __metadata__ first, data 8-byte aligned", () => {
  const t = HostTensor.f32([1]);
  const bytes = encodeSafetensors(new Map([["b", t], ["10", t], ["a", t], ["2", t]]), { z: "1", a: "2" });
  const { text, length } = headerOf(bytes);
  assert.equal((8 + length) % 8, 0);
  const order = [...text.matchAll(/"([^"]+)":\{/g)].map((m) => m[1]);
  assert.deepEqual(order, ["__metadata__", "10", "2", "a", "b"]);
  assert.match(text, /"__metadata__":\{"a":"2","z":"1"\}/);
});

test("unaligned data offsets (U8 [3] before F32 [2]) are copied into aligned arrays", () => {
  const bytes = encodeSafetensors(new Map<string, HostTensor>([["a", new HostTensor("uint8", [3], Uint8Array.from([1, 2, 3]))], ["b", HostTensor.f32([0.5, -4])]]));
  assert.match(headerOf(bytes).text, /"b":\{"dtype":"F32","shape":\[2\],"data_offsets":\[3,11\]\}/);
  const back = readSafetensors(bytes).tensors.get("b")!;
  assert.ok(back.data instanceof Float32Array);
  assert.deepEqual(Array.from(back.data as Float32Array), [0.5, -4]);
  // The same again from a buffer that itself starts at an odd offset.
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  assert.deepEqual(Array.from(readSafetensors(shifted.subarray(1)).tensors.get("b")!.data as Float32Array), [0.5, -4]);
});

test("writeSafetensors is atomic: reads back, overwrites, leaves no temp file, keeps the old file on failure", () => {
  const dir = mkdtempSync(join(tmpdir(), "maskbit-st-"));
  try {
    const path = join(dir, "w.safetensors");
    writeSafetensors(path, sample(), { step: "1" });
    writeSafetensors(path, new Map([["x", HostTensor.f32([9])]]), { step: "2" });
    const back = readSafetensors(path);
    assert.deepEqual(back.metadata, { step: "2" });
    assert.deepEqual([...back.tensors.keys()], ["x"]);
    const before = readFileSync(path);
    assertRefused(() => writeSafetensors(path, new Map([["__metadata__", HostTensor.f32([1])]])), (e) => e.op === "writeSafetensors", "reserved key");
    assert.deepEqual(readFileSync(path), before);
    assert.deepEqual(readdirSync(dir), ["w.safetensors"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("path and bytes readers agree on a golden tensors.safetensors", () => {
  const path = join(GOLDEN, "inception_fid/tensors.safetensors");
  const a = readSafetensors(path), b = readSafetensors(readFileSync(path));
  assert.deepEqual([...a.tensors.keys()], [...b.tensors.keys()]);
  for (const [k, t] of a.tensors) assert.deepEqual(t.data, b.tensors.get(k)!.data, k);
  assert.equal(a.tensors.get("images_u8")!.dtype, "uint8");
  assert.equal(a.tensors.get("pool_2048")!.dtype, "float64");
});

test("truncated file names the tensor and the data section size", () => {
  const bytes = encodeSafetensors(sample());
  assertRefused(() => readSafetensors(bytes.subarray(0, bytes.length - 5), "cut.safetensors"),
    (e) => e.scope !== undefined && e.scope.startsWith("cut.safetensors[") && /inside the \d+-byte data section/.test(e.expected), "truncated data");
  assertRefused(() => readSafetensors(bytes.subarray(0, 20)), (e) => /header length/.test(e.expected), "truncated header");
  assertRefused(() => readSafetensors(bytes.subarray(0, 3)), (e) => /at least 8 bytes/.test(e.expected), "tiny file");
});

test("malformed headers are refused with file, key, expected and found", () => {
  const f32 = (offsets: [number, number], shape = [2]) => ({ dtype: "F32", shape, data_offsets: offsets });
  const data8 = new Uint8Array(8);
  const cases: [string, Uint8Array, (e: CheckpointError) => boolean][] = [
    ["unknown dtype", craft({ x: { dtype: "F16", shape: [4], data_offsets: [0, 8] } }, data8),
      (e) => e.scope === "f[x]" && /dtype one of F32/.test(e.expected) && e.got === '"F16"'],
    ["byte length vs shape", craft({ x: f32([0, 8], [3]) }, data8), (e) => e.scope === "f[x]" && /12 bytes for F32 \[3\]/.test(e.expected)],
    ["overlap", craft({ x: f32([0, 8]), y: f32([4, 12]) }, new Uint8Array(12)), (e) => e.scope === "f[y]" && /overlapping/.test(e.got)],
    ["gap", craft({ x: f32([4, 12]) }, new Uint8Array(12)), (e) => e.scope === "f[x]" && /gap/.test(e.got)],
    ["uncovered tail", craft({ x: f32([0, 8]) }, new Uint8Array(12)), (e) => /whole 12-byte data section/.test(e.expected)],
    ["offsets beyond file", craft({ x: f32([0, 8]) }, new Uint8Array(4)), (e) => e.scope === "f[x]" && /inside/.test(e.expected)],
    ["bad offsets", craft({ x: { dtype: "F32", shape: [2], data_offsets: [8, 0] } }, data8), (e) => /data_offsets/.test(e.expected)],
    ["bad shape", craft({ x: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, data8), (e) => /shape/.test(e.expected)],
    ["non-string metadata", craft({ __metadata__: { step: 3 } }), (e) => e.scope === "f[__metadata__]"],
    ["array header", craft([1, 2]), (e) => /JSON object/.test(e.expected)],
    ["header length past end", craft({}, undefined, 1000n), (e) => /header length/.test(e.expected) && /truncated/.test(e.hint ?? "")],
    ["invalid JSON", (() => { const b = craft({ x: 1 }); b[9] = 0x7b; return b; })(), (e) => /JSON/.test(e.expected)],
  ];
  for (const [label, bytes, check] of cases) assertRefused(() => readSafetensors(bytes, "f"), check, label);
});

test("a missing file is a CheckpointError naming the path", () => {
  const dir = mkdtempSync(join(tmpdir(), "maskbit-st-"));
  try {
    const path = join(dir, "nope.safetensors");
    assertRefused(() => readSafetensors(path), (e) => e.scope === path && /ENOENT/.test(e.got), "missing");
    writeFileSync(path, craft({}));
    assert.equal(readSafetensors(path).tensors.size, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
