// Property-based fuzzing of every file reader: random bytes, structured-but-hostile inputs, and
// mutations of valid files must end in success or a MaskbitError, never another exception (a
// TypeError, RangeError or an out-of-memory crash would mean an unguarded path). Shared by the
// small fixed-seed run in npm test (test/io/fuzz.test.ts) and the long run (scripts/fuzz.ts).

import fc from "fast-check";
import { deflateSync } from "node:zlib";
import sharp from "sharp";
import { MaskbitError } from "../../src/engine/errors.js";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { encodeSafetensors, readSafetensors } from "../../src/io/safetensors.js";
import { readTorchCheckpoint } from "../../src/io/torch-checkpoint.js";
import { unpickle, type PyValue } from "../../src/io/pickle.js";
import { decodeImage8 } from "../../src/io/image.js";
import { decodePng } from "../../src/io/png.js";
import { encodeIdx, parseIdx } from "../../src/data/idx.js";
import { applyOverrides, parseYaml } from "../../src/config/yaml.js";
import { stateDictPickle, torchZip, type FakeTensor } from "./pickle-bytes.js";
import { buildZip, pngDeclaring } from "./zip-bytes.js";

/**
 * The slowest single input so far (ms), a way to run it again (so a long run can tell a slow
 * input from a pause of the machine), and how many inputs ran; scripts/fuzz.ts resets and reports it.
 */
export const timing: { slowestMs: number; runs: number; replaySlowest: () => Promise<unknown> } = { slowestMs: 0, runs: 0, replaySlowest: async () => undefined };

/** Runs `fn`; a MaskbitError is an accepted outcome, anything else is rethrown for fast-check to report. */
function settles(fn: () => unknown): void {
  const start = performance.now();
  timing.runs++;
  try {
    fn();
  } catch (e) {
    if (!(e instanceof MaskbitError)) throw e;
  } finally {
    const ms = performance.now() - start;
    if (ms > timing.slowestMs) {
      timing.slowestMs = ms;
      timing.replaySlowest = async () => settles(fn);
    }
  }
}

async function settlesAsync(fn: () => Promise<unknown>): Promise<void> {
  const start = performance.now();
  timing.runs++;
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof MaskbitError)) throw e;
  } finally {
    const ms = performance.now() - start;
    if (ms > timing.slowestMs) {
      timing.slowestMs = ms;
      timing.replaySlowest = () => settlesAsync(fn);
    }
  }
}

/** A valid file with some bytes overwritten, a run inserted or removed, or the end cut off. */
function mutated(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const at = fc.nat({ max: Math.max(valid.length - 1, 0) });
  const edit = fc.oneof(
    fc.record({ kind: fc.constant("set" as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant("insert" as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ kind: fc.constant("delete" as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ kind: fc.constant("cut" as const), at, bytes: fc.constant(new Uint8Array(0)) }),
    // Little-endian 32/64-bit extremes: sizes, counts and offsets are where readers trust the file.
    fc.record({ kind: fc.constant("set" as const), at, bytes: fc.constantFrom(...EXTREMES) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let b = Array.from(valid);
    for (const e of edits) {
      if (e.kind === "set") e.bytes.forEach((v, i) => { if (e.at + i < b.length) b[e.at + i] = v; });
      else if (e.kind === "insert") b.splice(e.at, 0, ...e.bytes);
      else if (e.kind === "delete") b.splice(e.at, e.bytes.length);
      else b = b.slice(0, e.at);
    }
    return Uint8Array.from(b);
  });
}

const EXTREMES = [
  [0xff, 0xff, 0xff, 0xff], [0xff, 0xff, 0xff, 0x7f], [0, 0, 0, 0x80], [0, 0, 0, 0],
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [1, 0, 0, 0, 0, 0, 0x10, 0], [0x40, 0, 0, 0],
].map((a) => Uint8Array.from(a));

const SIZES = fc.oneof(fc.nat({ max: 6 }), fc.constantFrom(0, 1, 2 ** 16, 2 ** 31, 2 ** 32 - 1, 2 ** 40, 2 ** 53 - 1, 2 ** 53, Number.MAX_VALUE), fc.integer({ min: -5, max: -1 }));

// ---------------------------------------------------------------- safetensors

const SAFETENSORS_VALID = encodeSafetensors(new Map<string, HostTensor>([
  ["a.weight", HostTensor.f32([1, 2, 3, 4, 5, 6], [2, 3])],
  ["b", new HostTensor("uint8", [3], Uint8Array.of(1, 2, 3))],
  ["c", HostTensor.i64([7, -8], [2])],
]), { config: '{"bits":10}', class_names: '["a","b"]' });

function safetensorsBytes(header: unknown, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const safetensorsHeader = fc.dictionary(
  fc.oneof(fc.string({ maxLength: 6 }), fc.constant("__metadata__"), fc.constant("__proto__")),
  fc.oneof(
    fc.record({
      dtype: fc.oneof(fc.constantFrom("F32", "F64", "I64", "I32", "U8", "BOOL", "F16", "BF16"), fc.string({ maxLength: 4 })),
      shape: fc.array(SIZES, { maxLength: 5 }),
      data_offsets: fc.array(SIZES, { minLength: 0, maxLength: 3 }),
    }, { requiredKeys: [] }),
    fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null)), { maxKeys: 3 }),
    fc.jsonValue({ maxDepth: 3 }),
  ),
  { maxKeys: 4 },
);

export const safetensorsProperties = {
  "safetensors: random bytes": fc.property(fc.uint8Array({ maxLength: 256 }), (b) => settles(() => readSafetensors(b))),
  "safetensors: mutated valid file": fc.property(mutated(SAFETENSORS_VALID), (b) => settles(() => readSafetensors(b))),
  "safetensors: hostile headers": fc.property(safetensorsHeader, fc.uint8Array({ maxLength: 64 }), (h, d) => settles(() => readSafetensors(safetensorsBytes(h, d)))),
};

// ---------------------------------------------------------------- torch zip / pickle

const STORAGE_TYPES = ["FloatStorage", "DoubleStorage", "LongStorage", "IntStorage", "ByteStorage", "BoolStorage", "HalfStorage", "BFloat16Storage", "ShortStorage"];

const fakeTensor: fc.Arbitrary<FakeTensor> = fc.record({
  key: fc.constantFrom("w", "b", "x.y"),
  storage: fc.constantFrom("0", "1", "2"),
  storageType: fc.constantFrom(...STORAGE_TYPES),
  numel: fc.oneof(fc.nat({ max: 16 }), fc.constantFrom(2 ** 31 - 1, 65535)),
  offset: fc.oneof(fc.nat({ max: 8 }), fc.constantFrom(65535, 2 ** 31 - 1)),
  size: fc.array(fc.oneof(fc.nat({ max: 5 }), fc.constantFrom(16384, 65535, 2 ** 31 - 1)), { maxLength: 4 }),
  stride: fc.array(fc.oneof(fc.nat({ max: 5 }), fc.constantFrom(0, 65535, 2 ** 31 - 1)), { maxLength: 4 }),
});

const torchFile = fc.record({
  tensors: fc.array(fakeTensor, { maxLength: 3 }),
  storages: fc.dictionary(fc.constantFrom("0", "1", "2", "3"), fc.uint8Array({ maxLength: 64 }), { maxKeys: 3 }),
  layout: fc.constantFrom("aligned", "fflate-stored", "deflated"),
}).map(({ tensors, storages, layout }) => {
  const pickle = stateDictPickle(tensors);
  if (layout === "aligned") {
    return buildZip([
      { name: "archive/data.pkl", data: pickle },
      { name: "archive/byteorder", data: new TextEncoder().encode("little") },
      ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data })),
    ]);
  }
  return torchZip(pickle, storages, layout === "deflated" ? 6 : 0);
});

const VALID_TORCH = torchZip(stateDictPickle([
  { key: "w", storage: "0", storageType: "FloatStorage", numel: 6, offset: 0, size: [2, 3], stride: [3, 1] },
  { key: "t", storage: "0", storageType: "FloatStorage", numel: 6, offset: 0, size: [3, 2], stride: [1, 3] },
  { key: "h", storage: "1", storageType: "HalfStorage", numel: 2, offset: 0, size: [2], stride: [1] },
]), { "0": new Uint8Array(24).fill(0x3f), "1": Uint8Array.of(0, 0x3c, 0, 0xc0) });
const VALID_TORCH_DEFLATED = torchZip(stateDictPickle([
  { key: "w", storage: "0", storageType: "LongStorage", numel: 3, offset: 1, size: [2], stride: [1] },
]), { "0": new Uint8Array(24).fill(7) }, 6);

/** Opcodes the reader knows (and a few it refuses), each followed by a random payload. */
const OPCODES = [0x80, 0x95, 0x2e, 0x28, 0x30, 0x31, 0x32, 0x4e, 0x88, 0x89, 0x4b, 0x4d, 0x4a, 0x8a, 0x8b, 0x47, 0x58, 0x8c, 0x8d, 0x55, 0x54,
  0x43, 0x42, 0x8e, 0x29, 0x85, 0x86, 0x87, 0x74, 0x5d, 0x6c, 0x7d, 0x64, 0x71, 0x72, 0x94, 0x68, 0x6a, 0x73, 0x75, 0x61, 0x65, 0x63, 0x93, 0x52, 0x62, 0x51,
  0x69, 0x6f, 0x81, 0x92];
const opcodeSoup = fc.array(fc.tuple(fc.constantFrom(...OPCODES), fc.uint8Array({ maxLength: 9 })), { maxLength: 40 })
  .map((ops) => Uint8Array.from([0x80, 2, ...ops.flatMap(([op, payload]) => [op, ...payload])]));

const pickleOptions = {
  source: "fuzz.pkl",
  resolveGlobal: (module: string, name: string): PyValue<never> => {
    throw new MaskbitError({ op: "fuzz", expected: "no globals", got: `${module}.${name}` });
  },
  persistentLoad: (): PyValue<never> => { throw new MaskbitError({ op: "fuzz", expected: "no persistent ids", got: "one" }); },
  describe: (): string => "never",
};

export const torchProperties = {
  "torch: random bytes": fc.property(fc.uint8Array({ maxLength: 256 }), (b) => settles(() => readTorchCheckpoint(b))),
  "torch: random bytes after a zip signature": fc.property(fc.uint8Array({ maxLength: 256 }), (b) => settles(() => readTorchCheckpoint(Uint8Array.from([0x50, 0x4b, 3, 4, ...b])))),
  "torch: hostile tensor layouts and storages": fc.property(torchFile, (b) => settles(() => readTorchCheckpoint(b))),
  "torch: mutated valid stored file": fc.property(mutated(VALID_TORCH), (b) => settles(() => readTorchCheckpoint(b))),
  "torch: mutated valid deflated file": fc.property(mutated(VALID_TORCH_DEFLATED), (b) => settles(() => readTorchCheckpoint(b))),
  "pickle: opcode soup": fc.property(opcodeSoup, (b) => settles(() => unpickle(b, pickleOptions))),
  "pickle: opcode soup as data.pkl": fc.property(opcodeSoup, (b) => settles(() => readTorchCheckpoint(torchZip(b, {})))),
  "pickle: mutated state dict": fc.property(mutated(stateDictPickle([{ key: "w", storage: "0", storageType: "FloatStorage", numel: 4, offset: 0, size: [2, 2], stride: [2, 1] }])),
    (b) => settles(() => readTorchCheckpoint(torchZip(b, { "0": new Uint8Array(16) })))),
};

// ---------------------------------------------------------------- IDX

const VALID_IDX = encodeIdx({ dtype: "int16", dims: [2, 3], data: Int16Array.of(1, -2, 3, -4, 5, -6) });

export const idxProperties = {
  "idx: random bytes": fc.property(fc.uint8Array({ maxLength: 128 }), (b) => settles(() => parseIdx(b))),
  "idx: random header, any dims": fc.property(fc.constantFrom(0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x07), fc.array(fc.oneof(fc.nat({ max: 4 }), fc.constant(2 ** 32 - 1)), { maxLength: 12 }),
    fc.uint8Array({ maxLength: 64 }), (code, dims, data) => {
      const b = new Uint8Array(4 + 4 * dims.length + data.length);
      b.set([0, 0, code, dims.length]);
      dims.forEach((d, i) => new DataView(b.buffer).setUint32(4 + 4 * i, d));
      b.set(data, 4 + 4 * dims.length);
      settles(() => parseIdx(b));
    }),
  "idx: mutated valid file": fc.property(mutated(VALID_IDX), (b) => settles(() => parseIdx(b))),
};

// ---------------------------------------------------------------- YAML and overrides

const YAML_TOKENS = ["&a ", "&b ", "*a", "*b", "[", "]", "{", "}", ": ", ":", "- ", "\n", "  ", "x", "y", "1_000", "1e-4", "!!str ", "!!binary ", "!!python/object ",
  "<<: ", "? ", "| ", "> ", "'", '"', "# c", ", ", "~", "null", "true", "__proto__", "%YAML 1.2\n", "---\n", "...\n", "\t", "\\u0000", "0x1F", ".inf"];
const yamlSoup = fc.array(fc.constantFrom(...YAML_TOKENS), { maxLength: 40 }).map((t) => t.join(""));
const OFFICIAL_LIKE = "experiment:\n  name: x\n  seed: 42\nmodel:\n  dims: &d [1, 2]\n  again: *d\ntraining:\n  max_train_steps: 1_350_000\n  lr: 1e-4\n";
const mutatedText = mutated(new TextEncoder().encode(OFFICIAL_LIKE)).map((b) => new TextDecoder().decode(b));
const base = parseYaml(OFFICIAL_LIKE);

export const yamlProperties = {
  "yaml: random text": fc.property(fc.string({ maxLength: 200 }), (t) => settles(() => parseYaml(t))),
  "yaml: token soup (anchors, aliases, tags, merges)": fc.property(yamlSoup, (t) => settles(() => parseYaml(t))),
  "yaml: mutated recipe": fc.property(mutatedText, (t) => settles(() => parseYaml(t))),
  "yaml: overrides": fc.property(fc.array(fc.tuple(fc.oneof(fc.constantFrom("training.lr", "+training.new", "model.dims", "model", "a.b.c", "", "+"), fc.string({ maxLength: 8 })),
    fc.oneof(yamlSoup, fc.string({ maxLength: 20 })), fc.constantFrom("=", "", "==")), { maxLength: 3 }),
    (items) => settles(() => applyOverrides(base, items.map(([k, v, eq]) => `${k}${eq}${v}`)))),
};

// ---------------------------------------------------------------- images

let validImages: Promise<Uint8Array[]> | undefined;
function images(): Promise<Uint8Array[]> {
  validImages ??= (async () => {
    const raw = sharp(Buffer.from(Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 37) % 256)), { raw: { width: 8, height: 8, channels: 3 } });
    return [await raw.clone().png().toBuffer(), await raw.clone().jpeg().toBuffer(), await raw.clone().webp().toBuffer()].map((b) => new Uint8Array(b));
  })();
  return validImages;
}

export async function imageProperties(): Promise<Record<string, fc.IAsyncProperty<[Uint8Array]> | fc.IAsyncProperty<[number, number, Uint8Array]>>> {
  const [png, jpeg, webp] = await images();
  const decode = (b: Uint8Array) => settlesAsync(() => decodeImage8(b, { maxPixels: 1 << 16 }));
  return {
    "image: random bytes": fc.asyncProperty(fc.uint8Array({ maxLength: 128 }), decode),
    "image: mutated PNG": fc.asyncProperty(mutated(png!), decode),
    "image: mutated JPEG": fc.asyncProperty(mutated(jpeg!), decode),
    "image: mutated WebP": fc.asyncProperty(mutated(webp!), decode),
    "png (platform-free decoder): mutated PNG": fc.asyncProperty(mutated(png!), async (b) => settles(() => decodePng(b, "fuzz.png", 1 << 16))),
    "png (platform-free decoder): declaring any size": fc.asyncProperty(fc.oneof(fc.nat({ max: 64 }), fc.constantFrom(16000, 2 ** 31 - 1, 2 ** 32 - 1)), fc.oneof(fc.nat({ max: 64 }), fc.constantFrom(16000, 2 ** 31 - 1)),
      fc.uint8Array({ maxLength: 64 }), async (w, h, rows) => settles(() => decodePng(pngDeclaring(w, h, deflateSync(rows)), "fuzz.png", 1 << 16))),
    "image: PNG declaring any size": fc.asyncProperty(fc.oneof(fc.nat({ max: 64 }), fc.constantFrom(16000, 2 ** 31 - 1, 2 ** 32 - 1)), fc.oneof(fc.nat({ max: 64 }), fc.constantFrom(16000, 2 ** 31 - 1)),
      fc.uint8Array({ maxLength: 64 }), (w, h, rows) => decode(pngDeclaring(w, h, deflateSync(rows)))),
  };
}

export const syncProperties: Record<string, fc.IProperty<never>> = {
  ...safetensorsProperties, ...torchProperties, ...idxProperties, ...yamlProperties,
} as unknown as Record<string, fc.IProperty<never>>;
