// Reads `torch.save(state_dict)` files: a zip holding <root>/data.pkl (the pickled OrderedDict),
// <root>/data/<key> (one raw storage per key) and usually <root>/byteorder. Nothing in the file is
// executed: the pickle goes through the restricted reader, and only the handful of globals a plain
// state dict needs resolve to anything; every other global is refused by name.

import { unzipSync } from "fflate";
import { HostTensor, shapeSize } from "../engine/host-tensor.js";
import { allocHostArray, type DType, type HostArray } from "../engine/graph/dtype.js";
import { CheckpointError, fmtShape } from "../engine/errors.js";
import { PyCallable, PyDict, PyTuple, describeValue, unpickle, type PyValue } from "./pickle.js";
import { errorText } from "./safetensors.js";
import { fileSystem } from "./platform.js";

const OP = "readTorchCheckpoint";

interface StorageKind {
  readonly dtype: DType;
  readonly itemBytes: number;
  /** 16-bit floats are widened to float32 (lossless) because HostTensor has no 16-bit float type. */
  readonly widen?: "half" | "bfloat16";
}

const STORAGE_KINDS: Readonly<Record<string, StorageKind>> = {
  FloatStorage: { dtype: "float32", itemBytes: 4 },
  DoubleStorage: { dtype: "float64", itemBytes: 8 },
  LongStorage: { dtype: "int64", itemBytes: 8 },
  IntStorage: { dtype: "int32", itemBytes: 4 },
  ByteStorage: { dtype: "uint8", itemBytes: 1 },
  BoolStorage: { dtype: "bool", itemBytes: 1 },
  HalfStorage: { dtype: "float32", itemBytes: 2, widen: "half" },
  BFloat16Storage: { dtype: "float32", itemBytes: 2, widen: "bfloat16" },
};

class StorageType { constructor(readonly name: string, readonly kind: StorageKind) {} }
class StorageRef { constructor(readonly type: StorageType, readonly key: string, readonly numel: number) {} }
type Own = HostTensor | StorageType | StorageRef;
type Value = PyValue<Own>;

interface Archive {
  readonly root: string;
  readonly files: Readonly<Record<string, Uint8Array>>;
  readonly bigEndian: boolean;
}

const fail = (scope: string, expected: string, got: string, hint?: string): CheckpointError =>
  new CheckpointError({ op: OP, scope, expected, got, hint });

/** Loads a state dict from a path or bytes (`name` labels errors for bytes), keys in the file's order. */
export function readTorchCheckpoint(source: string | Uint8Array, name = "<bytes>"): Map<string, HostTensor> {
  const file = typeof source === "string" ? source : name;
  let bytes: Uint8Array;
  try {
    bytes = typeof source === "string" ? fileSystem(OP, source).readFile(source) : source;
  } catch (e) {
    throw fail(file, "a readable checkpoint file", errorText(e));
  }
  const archive = openArchive(bytes, file);
  const result = unpickle<Own>(archive.files[`${archive.root}/data.pkl`]!, {
    source: `${file}:${archive.root}/data.pkl`,
    resolveGlobal: allowedGlobals(archive, file),
    persistentLoad: (pid) => storageRef(pid, file),
    describe: describeOwn,
  });
  return toStateDict(result, file);
}

function openArchive(bytes: Uint8Array, file: string): Archive {
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04)) {
    // The pre-1.6 format is a bare pickle stream, which starts with the PROTO opcode.
    const legacy = bytes[0] === 0x80;
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw fail(file, "a zip archive written by torch.save (PyTorch >= 1.6)", legacy ? "a legacy non-zip torch.save file" : `leading bytes [${head}]`,
      legacy ? "re-save it with a current PyTorch" : "not a PyTorch checkpoint, or truncated");
  }
  const sizes = new Map<string, number>();
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, { filter: (f) => (sizes.set(f.name, f.originalSize), true) });
  } catch (e) {
    throw fail(file, "a readable zip archive", errorText(e), "truncated or corrupt file?");
  }
  // fflate silently shortens a stored member whose data runs past the end of the input.
  for (const [member, data] of Object.entries(files)) {
    if (data.length !== sizes.get(member)) throw fail(`${file}:${member}`, `${sizes.get(member)} bytes`, `${data.length} bytes`, "truncated file?");
  }
  const pickles = Object.keys(files).filter((m) => /^[^/]+\/data\.pkl$/.test(m));
  if (pickles.length !== 1) {
    throw fail(file, "exactly one <root>/data.pkl member", pickles.length ? pickles.join(", ") : "none", "not a torch.save archive?");
  }
  const root = pickles[0]!.slice(0, -"/data.pkl".length);
  const order = files[`${root}/byteorder`];
  // Files written before the byteorder record existed are little-endian.
  const byteorder = order ? new TextDecoder().decode(order).trim() : "little";
  if (byteorder !== "little" && byteorder !== "big") throw fail(`${file}:${root}/byteorder`, `"little" or "big"`, JSON.stringify(byteorder));
  return { root, files, bigEndian: byteorder === "big" };
}

function allowedGlobals(archive: Archive, file: string): (module: string, name: string) => Value {
  const storages = new Map<string, HostArray>();
  const loadStorage = (ref: StorageRef): HostArray => {
    // Keyed by type too: one untyped storage may in principle be viewed as two dtypes.
    const id = `${ref.key}:${ref.type.name}`;
    let data = storages.get(id);
    if (data === undefined) {
      data = decodeStorage(archive, ref, file);
      storages.set(id, data);
    }
    return data;
  };
  const allowed = new Map<string, Value>([
    ["collections.OrderedDict", new PyCallable<Own>("collections.OrderedDict", (args) => {
      if (args.length !== 0) throw fail(file, "OrderedDict() without arguments", `${args.length} arguments`);
      return new PyDict<Own>();
    })],
    ["torch._utils._rebuild_tensor_v2", new PyCallable<Own>("torch._utils._rebuild_tensor_v2", (args) => rebuildTensor(args, loadStorage, file))],
    ["torch._utils._rebuild_parameter", new PyCallable<Own>("torch._utils._rebuild_parameter", ([data]) => {
      if (!(data instanceof HostTensor)) throw fail(file, "a tensor inside _rebuild_parameter", describe(data ?? null));
      return data;
    })],
    ...Object.entries(STORAGE_KINDS).map(([n, kind]): [string, Value] => [`torch.${n}`, new StorageType(`torch.${n}`, kind)]),
  ]);
  return (module, name) => {
    const value = allowed.get(`${module}.${name}`);
    if (value === undefined) {
      throw fail(file, `only the globals of a plain state dict (${[...allowed.keys()].slice(0, 3).join(", ")}, torch.*Storage)`,
        `global ${module}.${name}`, "only plain torch.save(state_dict) files are accepted; nothing in the file is executed");
    }
    return value;
  };
}

/** torch.save writes each storage as the persistent id ('storage', storage_type, key, location, numel). */
function storageRef(pid: Value, file: string): Value {
  const items = pid instanceof PyTuple ? pid.items : [];
  const [tag, type, key, , numel] = items;
  if (items.length !== 5 || tag !== "storage" || !(type instanceof StorageType) || typeof key !== "string" ||
    typeof numel !== "number" || !Number.isSafeInteger(numel) || numel < 0) {
    throw fail(file, "a persistent id ('storage', torch.<T>Storage, key, location, numel)", describe(pid));
  }
  return new StorageRef(type, key, numel);
}

function decodeStorage(archive: Archive, ref: StorageRef, file: string): HostArray {
  const member = `${archive.root}/data/${ref.key}`;
  const bytes = archive.files[member];
  if (bytes === undefined) throw fail(`${file}:${member}`, `the storage record for key ${ref.key}`, "no such member");
  const { dtype, itemBytes, widen } = ref.type.kind;
  if (bytes.length !== ref.numel * itemBytes) {
    throw fail(`${file}:${member}`, `${ref.numel * itemBytes} bytes (${ref.numel} x ${ref.type.name})`, `${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lowFirst = !archive.bigEndian;
  if (widen === "bfloat16") {
    // bfloat16 is the top half of a float32: shift the bits into place and reinterpret.
    const bits = new Uint32Array(ref.numel);
    for (let i = 0; i < bits.length; i++) bits[i] = view.getUint16(2 * i, lowFirst) << 16;
    return new Float32Array(bits.buffer);
  }
  if (widen === "half") return Float32Array.from({ length: ref.numel }, (_, i) => halfToFloat(view.getUint16(2 * i, lowFirst)));
  const out = allocHostArray(dtype, ref.numel);
  const outBytes = new Uint8Array(out.buffer);
  outBytes.set(bytes);
  if (archive.bigEndian && itemBytes > 1) {
    for (let i = 0; i < outBytes.length; i += itemBytes) outBytes.subarray(i, i + itemBytes).reverse();
  }
  return out;
}

/** _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]). */
function rebuildTensor(args: readonly Value[], loadStorage: (ref: StorageRef) => HostArray, file: string): HostTensor {
  const [storage, offset, size, stride] = args;
  if (args.length < 6 || args.length > 7 || !(storage instanceof StorageRef)) {
    throw fail(file, "_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)", `${args.length} arguments, first ${describe(args[0] ?? null)}`);
  }
  const scope = `${file}:${storage.key}`;
  const dims = intTuple(size, "size", scope), steps = intTuple(stride, "stride", scope);
  if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0 || steps.length !== dims.length) {
    throw fail(scope, "a non-negative offset and one stride per dimension", `offset ${describe(offset ?? null)}, size ${fmtShape(dims)}, stride ${fmtShape(steps)}`);
  }
  const src = loadStorage(storage);
  const numel = shapeSize(dims);
  if (numel === 0) return new HostTensor(storage.type.kind.dtype, dims, allocHostArray(storage.type.kind.dtype, 0));
  const last = dims.reduce((at, d, i) => at + (d - 1) * steps[i]!, offset);
  if (last >= src.length) {
    throw fail(scope, `a view inside the storage's ${src.length} elements`, `offset ${offset}, size ${fmtShape(dims)}, stride ${fmtShape(steps)} reaching element ${last}`);
  }
  const data = isContiguous(dims, steps) ? src.slice(offset, offset + numel) : gather(src, storage.type.kind.dtype, offset, dims, steps);
  return new HostTensor(storage.type.kind.dtype, dims, data);
}

function intTuple(v: Value | undefined, what: string, scope: string): number[] {
  const items = v instanceof PyTuple ? v.items : undefined;
  if (items === undefined || !items.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)) {
    throw fail(scope, `${what} as a tuple of non-negative ints`, describe(v ?? null));
  }
  return items as number[];
}

function isContiguous(dims: readonly number[], steps: readonly number[]): boolean {
  let expected = 1;
  for (let d = dims.length - 1; d >= 0; d--) {
    // A size-1 dimension's stride never addresses anything, so torch leaves it arbitrary.
    if (dims[d] !== 1 && steps[d] !== expected) return false;
    expected *= dims[d]!;
  }
  return true;
}

/** Copies a strided view (rare in state dicts) into a fresh row-major array, one innermost row at a time. */
function gather(src: HostArray, dtype: DType, offset: number, dims: readonly number[], steps: readonly number[]): HostArray {
  const out = allocHostArray(dtype, shapeSize(dims));
  const size = src.BYTES_PER_ELEMENT;
  const from = new Uint8Array(src.buffer, src.byteOffset, src.byteLength), to = new Uint8Array(out.buffer);
  const rank = dims.length, inner = dims[rank - 1]!, innerStep = steps[rank - 1]!;
  const idx = new Array<number>(rank - 1).fill(0);
  for (let o = 0; o < out.length; o += inner) {
    let base = offset;
    for (let d = 0; d < rank - 1; d++) base += idx[d]! * steps[d]!;
    if (innerStep === 1) to.set(from.subarray(base * size, (base + inner) * size), o * size);
    else for (let j = 0; j < inner; j++) to.set(from.subarray((base + j * innerStep) * size, (base + j * innerStep + 1) * size), (o + j) * size);
    for (let d = rank - 2; d >= 0; d--) {
      idx[d] = idx[d]! + 1;
      if (idx[d]! < dims[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

function toStateDict(result: Value, file: string): Map<string, HostTensor> {
  const hint = "only plain state dicts (an OrderedDict of tensors) are accepted";
  if (!(result instanceof PyDict)) throw fail(file, "a state dict at the top level of data.pkl", describe(result), hint);
  const out = new Map<string, HostTensor>();
  for (const [key, value] of result.entries) {
    if (typeof key !== "string") throw fail(file, "str state-dict keys", describe(key), hint);
    if (!(value instanceof HostTensor)) throw fail(`${file}[${key}]`, "a tensor", describe(value), hint);
    out.set(key, value);
  }
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const describe = (v: Value): string => describeValue(v, describeOwn);

function describeOwn(v: Own): string {
  if (v instanceof HostTensor) return `tensor ${v.dtype} ${fmtShape(v.shape)}`;
  if (v instanceof StorageType) return `storage type ${v.name}`;
  return `storage ${v.key} (${v.type.name})`;
}
