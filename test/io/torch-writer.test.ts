// The torch.save-compatible writer: round trips through the reader for both stages, a zip layout
// check, and a pickle disassembly (a small opcode walker written here, independent of the
// project's unpickler) showing that the file uses only globals torch.load(weights_only=True)
// allows, and no more than the official torch.save files in the golden fixtures use.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { encodeTorchCheckpoint } from "../../src/io/torch-writer.js";
import { readTorchCheckpoint } from "../../src/io/torch-checkpoint.js";
import { readSafetensors } from "../../src/io/safetensors.js";
import { readFileSync } from "node:fs";
import { renameLegacyGeneratorKeys, toReleasedGeneratorKeys } from "../../src/io/keymap.js";
import { HostTensor } from "../../src/engine/host-tensor.js";

const GOLDEN = join(import.meta.dirname, "../../../shared/golden");

/** The globals torch's weights_only unpickler resolves that a plain state dict can need. */
const WEIGHTS_ONLY_SAFE = new Set([
  "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
  ...["Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool"].map((t) => `torch.${t}Storage`),
]);

interface Disassembly { readonly globals: string[]; readonly opcodes: Set<string> }

/** Walks a pickle stream opcode by opcode; fails on any opcode it does not know. */
function disassemble(p: Uint8Array): Disassembly {
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const globals: string[] = [], opcodes = new Set<string>(), strings: string[] = [];
  const text = (from: number, n: number) => new TextDecoder().decode(p.subarray(from, from + n));
  // Opcode -> [name, fixed argument bytes] (or a reader for variable-length arguments).
  const fixed: Record<number, [string, number]> = {
    0x80: ["PROTO", 1], 0x95: ["FRAME", 8], 0x28: ["MARK", 0], 0x29: ["EMPTY_TUPLE", 0], 0x74: ["TUPLE", 0], 0x85: ["TUPLE1", 0],
    0x86: ["TUPLE2", 0], 0x87: ["TUPLE3", 0], 0x52: ["REDUCE", 0], 0x75: ["SETITEMS", 0], 0x73: ["SETITEM", 0], 0x7d: ["EMPTY_DICT", 0],
    0x4b: ["BININT1", 1], 0x4d: ["BININT2", 2], 0x4a: ["BININT", 4], 0x89: ["NEWFALSE", 0], 0x88: ["NEWTRUE", 0], 0x4e: ["NONE", 0],
    0x51: ["BINPERSID", 0], 0x71: ["BINPUT", 1], 0x72: ["LONG_BINPUT", 4], 0x68: ["BINGET", 1], 0x6a: ["LONG_BINGET", 4], 0x94: ["MEMOIZE", 0],
    0x62: ["BUILD", 0], 0x5d: ["EMPTY_LIST", 0], 0x65: ["APPENDS", 0], 0x61: ["APPEND", 0], 0x47: ["BINFLOAT", 8],
  };
  let at = 0;
  for (;;) {
    assert.ok(at < p.length, "pickle ends without STOP");
    const op = p[at++]!;
    if (op === 0x2e) { opcodes.add("STOP"); break; }
    if (op === 0x63) { // GLOBAL: two newline-terminated lines
      const a = p.indexOf(0x0a, at), b = p.indexOf(0x0a, a + 1);
      globals.push(`${text(at, a - at)}.${text(a + 1, b - a - 1)}`);
      opcodes.add("GLOBAL");
      at = b + 1;
    } else if (op === 0x93) { // STACK_GLOBAL: module and name are the last two strings pushed
      globals.push(`${strings.at(-2)}.${strings.at(-1)}`);
      opcodes.add("STACK_GLOBAL");
    } else if (op === 0x58 || op === 0x8c) { // BINUNICODE, SHORT_BINUNICODE
      const n = op === 0x58 ? view.getUint32(at, true) : p[at]!;
      at += op === 0x58 ? 4 : 1;
      strings.push(text(at, n));
      at += n;
      opcodes.add(op === 0x58 ? "BINUNICODE" : "SHORT_BINUNICODE");
    } else if (op === 0x8a) { at += 1 + p[at]!; opcodes.add("LONG1"); }
    else {
      const known = fixed[op];
      assert.ok(known, `unknown pickle opcode 0x${op.toString(16)} at byte ${at - 1}`);
      opcodes.add(known[0]);
      at += known[1];
    }
  }
  assert.equal(at, p.length, "bytes after STOP");
  return { globals, opcodes };
}

function pickleOf(bin: Uint8Array): Uint8Array {
  const files = unzipSync(bin);
  const name = Object.keys(files).find((n) => n.endsWith("/data.pkl"))!;
  return files[name]!;
}

function assertSameTensors(got: ReadonlyMap<string, HostTensor>, want: ReadonlyMap<string, HostTensor>): void {
  assert.deepEqual([...got.keys()], [...want.keys()], "keys in order");
  for (const [k, w] of want) {
    const g = got.get(k)!;
    assert.equal(g.dtype, w.dtype, k);
    assert.deepEqual(g.shape, w.shape, k);
    assert.deepEqual(new Uint8Array(g.data.buffer, g.data.byteOffset, g.data.byteLength), new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), k);
  }
}

for (const stage of ["tokenizer_k10", "generator_k10"]) {
  test(`${stage}: safetensors -> .bin -> reader gives the same tensors as the official weights.bin`, () => {
    const source = readSafetensors(join(GOLDEN, stage, "weights.safetensors")).tensors;
    // The official generator file names the input projection token_emb.*, the safetensors input_proj.*.
    const official = renameLegacyGeneratorKeys(readTorchCheckpoint(join(GOLDEN, stage, "weights.bin")));
    const state = new Map([...official.keys()].map((k) => [k, source.get(k)!]));
    const written = encodeTorchCheckpoint(stage.startsWith("generator") ? toReleasedGeneratorKeys(state) : state);
    let back = readTorchCheckpoint(written, `${stage}.bin`);
    if (stage.startsWith("generator")) {
      assert.ok([...back.keys()].some((k) => k.startsWith("token_emb.")), "the generator's input projection is written as token_emb.*");
      back = renameLegacyGeneratorKeys(back);
    }
    assertSameTensors(back, official);
  });
}

test("written pickle uses only weights_only-safe globals, and none the official torch.save files do not", () => {
  const state = new Map<string, HostTensor>([
    ["w", HostTensor.f32([1, 2, 3, 4, 5, 6], [2, 3])], ["ids", HostTensor.i64([1, 2], [2])], ["scalar", HostTensor.f32([7], [])],
    ["n", new HostTensor("int32", [3], Int32Array.from([1, 2, 3]))], ["empty", HostTensor.f32([], [0, 4])],
  ]);
  const ours = disassemble(pickleOf(encodeTorchCheckpoint(state)));
  for (const g of ours.globals) assert.ok(WEIGHTS_ONLY_SAFE.has(g), `global ${g} is not in the weights_only allowlist`);
  assert.deepEqual(new Set(ours.globals), new Set(["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage", "torch.LongStorage", "torch.IntStorage"]));
  const officialGlobals = new Set(disassemble(pickleOf(readFileSync(join(GOLDEN, "tokenizer_k10/weights.bin")))).globals);
  for (const g of ["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"]) assert.ok(officialGlobals.has(g), `official file uses ${g}`);
  for (const op of ours.opcodes) assert.ok(!["BUILD", "STACK_GLOBAL", "APPEND", "APPENDS"].includes(op), `unexpected opcode ${op}`);
  assertSameTensors(readTorchCheckpoint(encodeTorchCheckpoint(state)), state);
});

test("zip layout: stored members data.pkl, byteorder, data/<n>, version under one root, data 64-byte aligned", () => {
  const state = new Map([["a", HostTensor.f32([1, 2, 3], [3])], ["b.weight", HostTensor.f32([4, 5], [1, 2])]]);
  const bin = encodeTorchCheckpoint(state, { root: "model" });
  const names: string[] = [];
  const v = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  for (let at = 0; v.getUint32(at, true) === 0x04034b50;) {
    assert.equal(v.getUint16(at + 8, true), 0, "STORED");
    const size = v.getUint32(at + 18, true), nameLen = v.getUint16(at + 26, true), extra = v.getUint16(at + 28, true);
    names.push(new TextDecoder().decode(bin.subarray(at + 30, at + 30 + nameLen)));
    const dataAt = at + 30 + nameLen + extra;
    assert.equal(dataAt % 64, 0, `${names.at(-1)} data offset ${dataAt} is 64-byte aligned`);
    at = dataAt + size;
  }
  assert.deepEqual(names, ["model/data.pkl", "model/byteorder", "model/data/0", "model/data/1", "model/version"]);
  const files = unzipSync(bin);
  assert.equal(new TextDecoder().decode(files["model/byteorder"]), "little");
  assert.equal(new TextDecoder().decode(files["model/version"]).trim(), "3");
  assert.deepEqual([...new Float32Array(files["model/data/1"]!.slice().buffer)], [4, 5]);
});
