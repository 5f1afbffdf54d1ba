import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { unzipSync, zipSync } from "fflate";
import { readTorchCheckpoint } from "../../src/io/torch-checkpoint.js";
import { readSafetensors } from "../../src/io/safetensors.js";
import { renameLegacyGeneratorKeys } from "../../src/io/keymap.js";
import { CheckpointError } from "../../src/engine/errors.js";
import type { HostTensor } from "../../src/engine/host-tensor.js";
import { PickleBuilder, bytesOf, stateDictPickle, torchZip, type FakeTensor } from "./pickle-bytes.js";

const GOLDEN = join(import.meta.dirname, "../../../shared/golden");

function officialOrder(caseName: string): string[] {
  const c = JSON.parse(readFileSync(join(GOLDEN, caseName, "case.json"), "utf8")) as { weight_keys: [string, string, number[]][] };
  return c.weight_keys.map(([key]) => key);
}

function assertSameTensors(got: ReadonlyMap<string, HostTensor>, expected: ReadonlyMap<string, HostTensor>): void {
  assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
  for (const [key, e] of expected) {
    const g = got.get(key)!;
    assert.equal(g.dtype, e.dtype, key);
    assert.deepEqual(g.shape, e.shape, key);
    assert.deepEqual(g.data, e.data, key);
  }
}

function assertRefused(fn: () => unknown, check: (e: CheckpointError) => boolean, label: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `${label}: ${String(e)}`);
    assert.ok(check(e), `${label}: ${e.message}`);
    return true;
  });
}

test("tokenizer_k10 weights.bin equals weights.safetensors, keys in official order", () => {
  const bin = readTorchCheckpoint(join(GOLDEN, "tokenizer_k10/weights.bin"));
  assertSameTensors(bin, readSafetensors(join(GOLDEN, "tokenizer_k10/weights.safetensors")).tensors);
  assert.deepEqual([...bin.keys()], officialOrder("tokenizer_k10"));
  assert.equal(bin.get("quantize.bits_to_indices")!.dtype, "int32");
});

test("generator_k10 weights.bin equals weights.safetensors after token_emb -> input_proj", () => {
  const raw = readTorchCheckpoint(readFileSync(join(GOLDEN, "generator_k10/weights.bin")), "generator.bin");
  assert.ok(raw.has("token_emb.weight") && !raw.has("input_proj.weight"));
  const bin = renameLegacyGeneratorKeys(raw);
  assertSameTensors(bin, readSafetensors(join(GOLDEN, "generator_k10/weights.safetensors")).tensors);
  assert.deepEqual([...bin.keys()], officialOrder("generator_k10"));
});

test("deflate-compressed members read the same as stored ones", () => {
  const stored = readFileSync(join(GOLDEN, "generator_k10/weights.bin"));
  const deflated = zipSync(unzipSync(stored), { level: 6 });
  assert.ok(deflated.length < stored.length);
  assertSameTensors(readTorchCheckpoint(deflated), readTorchCheckpoint(stored));
});

const hostile: [string, Uint8Array][] = [
  ["os.system", new PickleBuilder().proto().global("os", "system").str("echo pwned").tuple(1).reduce().stop().build()],
  ["builtins.eval", new PickleBuilder().proto(4).str("builtins").str("eval").op(0x93).str("1+1").tuple(1).reduce().stop().build()],
  // A valid-looking state dict whose tensor rebuild is swapped for a different callable.
  ["torch.load", new PickleBuilder().proto().global("collections", "OrderedDict").tuple(0).reduce()
    .str("w").global("torch", "load").str("x").tuple(1).reduce().op(0x73).stop().build()],
];
for (const [global, pickle] of hostile) {
  test(`hostile pickle calling ${global} is refused by name, nothing runs`, () => {
    assertRefused(() => readTorchCheckpoint(torchZip(pickle, {}), "evil.pt"),
      (e) => e.op === "readTorchCheckpoint" && e.scope === "evil.pt" && e.got === `global ${global}` && /plain/.test(e.hint ?? ""), global);
  });
}

test("non-contiguous strides and storage offsets are gathered; views share one storage", () => {
  const storage = Float32Array.from({ length: 8 }, (_, i) => i);
  const base = { storage: "0", storageType: "FloatStorage", numel: 8 };
  const tensors: FakeTensor[] = [
    { ...base, key: "transposed", offset: 0, size: [3, 2], stride: [1, 3] },
    { ...base, key: "sliced", offset: 2, size: [2, 2], stride: [4, 1] },
    { ...base, key: "every_other", offset: 1, size: [3], stride: [2] },
    { ...base, key: "scalar", offset: 7, size: [], stride: [] },
    { ...base, key: "empty", offset: 0, size: [0, 3], stride: [3, 1] },
  ];
  const got = readTorchCheckpoint(torchZip(stateDictPickle(tensors), { "0": bytesOf(storage) }));
  assert.deepEqual([...got.keys()], tensors.map((t) => t.key));
  const values = (k: string) => Array.from(got.get(k)!.data as Float32Array);
  assert.deepEqual(values("transposed"), [0, 3, 1, 4, 2, 5]);
  assert.deepEqual(values("sliced"), [2, 3, 6, 7]);
  assert.deepEqual(values("every_other"), [1, 3, 5]);
  assert.deepEqual(got.get("scalar")!.shape, []);
  assert.deepEqual(values("scalar"), [7]);
  assert.deepEqual(got.get("empty")!.shape, [0, 3]);
  // Each tensor owns its data even when the storage is shared.
  (got.get("sliced")!.data as Float32Array)[0] = 99;
  assert.deepEqual(values("transposed"), [0, 3, 1, 4, 2, 5]);
});

test("int64, bool, half and bfloat16 storages; half/bfloat16 widen to float32", () => {
  const one = (key: string, storageType: string, numel: number): FakeTensor => ({ key, storage: key, storageType, numel, offset: 0, size: [numel], stride: [1] });
  const got = readTorchCheckpoint(torchZip(stateDictPickle([one("l", "LongStorage", 2), one("b", "BoolStorage", 2), one("h", "HalfStorage", 3), one("bf", "BFloat16Storage", 2)]), {
    l: bytesOf(BigInt64Array.from([-3n, 2n ** 40n])), b: Uint8Array.from([1, 0]),
    h: bytesOf(Uint16Array.from([0x3c00, 0xc000, 0x0001])), bf: bytesOf(Uint16Array.from([0x3f80, 0xc0a0])),
  }));
  assert.deepEqual(got.get("l")!.data, BigInt64Array.from([-3n, 2n ** 40n]));
  assert.equal(got.get("b")!.dtype, "bool");
  assert.deepEqual(Array.from(got.get("h")!.data as Float32Array), [1, -2, Math.fround(2 ** -24)]);
  assert.deepEqual(Array.from(got.get("bf")!.data as Float32Array), [1, -5]);
});

test("truncated or corrupt files give CheckpointErrors that say what was expected", () => {
  const bin = readFileSync(join(GOLDEN, "generator_k10/weights.bin"));
  assertRefused(() => readTorchCheckpoint(bin.subarray(0, bin.length >> 1), "half.bin"),
    (e) => e.scope === "half.bin" && /zip/.test(e.expected) && /truncated/.test(e.hint ?? ""), "truncated zip");
  assertRefused(() => readTorchCheckpoint(new Uint8Array(0)), (e) => /zip archive/.test(e.expected), "empty");
  assertRefused(() => readTorchCheckpoint(Uint8Array.from([0x80, 0x02, 0x8a, 0x0a])), (e) => /legacy/.test(e.got), "legacy format");
  assertRefused(() => readTorchCheckpoint("/nonexistent/weights.bin"), (e) => /ENOENT/.test(e.got), "missing file");

  const members = unzipSync(bin);
  const rezip = (edit: (m: Record<string, Uint8Array>) => void) => { const m = { ...members }; edit(m); return zipSync(m, { level: 0 }); };
  assertRefused(() => readTorchCheckpoint(rezip((m) => { m["weights/data.pkl"] = m["weights/data.pkl"]!.subarray(0, 200); })),
    (e) => e.op === "unpickle" && /end of data/.test(e.got), "cut pickle");
  assertRefused(() => readTorchCheckpoint(rezip((m) => { m["weights/data/0"] = m["weights/data/0"]!.subarray(0, 100); })),
    (e) => e.scope === "<bytes>:weights/data/0" && /4352 bytes/.test(e.expected) && e.got === "100 bytes", "short storage");
  assertRefused(() => readTorchCheckpoint(rezip((m) => { delete m["weights/data/3"]; })), (e) => /no such member/.test(e.got), "missing storage");
  assertRefused(() => readTorchCheckpoint(rezip((m) => { delete m["weights/data.pkl"]; })), (e) => /data\.pkl/.test(e.expected), "no pickle");
});

test("views reaching past their storage and non-dict payloads are refused", () => {
  const t: FakeTensor = { key: "w", storage: "0", storageType: "FloatStorage", numel: 4, offset: 2, size: [2, 2], stride: [2, 1] };
  assertRefused(() => readTorchCheckpoint(torchZip(stateDictPickle([t]), { "0": new Uint8Array(16) })),
    (e) => /inside the storage's 4 elements/.test(e.expected), "view past storage");
  assertRefused(() => readTorchCheckpoint(torchZip(stateDictPickle([{ ...t, storageType: "ShortStorage" }]), { "0": new Uint8Array(8) })),
    (e) => e.got === "global torch.ShortStorage", "unsupported storage type");
  const list = new PickleBuilder().proto().op(0x5d).stop().build();
  assertRefused(() => readTorchCheckpoint(torchZip(list, {})), (e) => /state dict/.test(e.expected), "list payload");
  const nested = new PickleBuilder().proto().op(0x7d).str("model").op(0x7d).op(0x73).stop().build();
  assertRefused(() => readTorchCheckpoint(torchZip(nested, {})), (e) => e.scope === "<bytes>[model]" && e.expected === "a tensor", "wrapped state dict");
});
