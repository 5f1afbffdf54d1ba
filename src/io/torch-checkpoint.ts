// Reads `torch.save(state_dict)` files: a zip holding <root>/data.pkl (the pickled OrderedDict),
// <root>/data/<key> (one raw storage per key) and usually <root>/byteorder. Nothing in the file is
// executed: the pickle goes through the restricted reader, and only the handful of globals a plain
// state dict needs resolve to anything; every other global is refused by name.
//
// Loading makes no copies where it can avoid them: stored zip members are views of the file bytes,
// a little-endian storage at an aligned offset is a typed-array view of its member, and a
// contiguous tensor is a view of its storage. So tensors may share memory with each other and with
// bytes the caller passed in. Copies are made only for deflated members, 16-bit floats (widened),
// big-endian files, misaligned members and strided views, and their total is bounded.

import { HostTensor, shapeSize } from "../engine/host-tensor.js";
import { allocHostArray, type DType, type HostArray } from "../engine/graph/dtype.js";
import { CheckpointError, fmtShape } from "../engine/errors.js";
import { DEFAULT_PICKLE_LIMITS, PyCallable, PyDict, PyTuple, describeValue, unpickle, type PickleLimits, type PyValue } from "./pickle.js";
import { errorText } from "./safetensors.js";
import { fileSystem } from "./platform.js";
import { DEFAULT_ZIP_LIMITS, ZipArchive, type ZipLimits } from "./zip.js";
import { hostArrayOf } from "./typed-view.js";

export interface TorchLimits extends ZipLimits, PickleLimits {
  /** Size of data.pkl, in bytes (default 64 MiB; a state dict's pickle is a few hundred bytes per tensor). */
  readonly maxPickleBytes: number;
  /**
   * Bytes of tensor data copied rather than viewed, over all tensors. Default: twice the storages'
   * declared bytes plus 64 MiB, enough to widen every 16-bit storage, while many strided views of
   * one storage cannot multiply a small file into a large allocation.
   */
  readonly maxCopiedBytes: number | undefined;
  /** Dimensions of one tensor (default 32). */
  readonly maxRank: number;
}

export const DEFAULT_TORCH_LIMITS: TorchLimits = {
  ...DEFAULT_ZIP_LIMITS, ...DEFAULT_PICKLE_LIMITS, maxPickleBytes: 64 << 20, maxCopiedBytes: undefined, maxRank: 32,
};

export interface TorchReadOptions {
  readonly limits?: Partial<TorchLimits>;
}

const limitHint = (field: keyof TorchLimits): string => `raise it with readTorchCheckpoint(source, name, { limits: { ${field} } }) if the file is trusted`;

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
  readonly zip: ZipArchive;
  readonly bigEndian: boolean;
  readonly limits: TorchLimits;
  /** Bytes copied so far, and their bound (limits.maxCopiedBytes or its default). */
  copied: number;
  readonly maxCopied: number;
}

const fail = (scope: string, expected: string, got: string, hint?: string): CheckpointError =>
  new CheckpointError({ op: OP, scope, expected, got, hint });

/**
 * Loads a state dict from a path or bytes (`name` labels errors for bytes), keys in the file's order.
 * Tensors may be views of `source`'s bytes (see the top of this file).
 */
export function readTorchCheckpoint(source: string | Uint8Array, name = "<bytes>", options: TorchReadOptions = {}): Map<string, HostTensor> {
  const limits: TorchLimits = { ...DEFAULT_TORCH_LIMITS, ...options.limits };
  const file = typeof source === "string" ? source : name;
  let bytes: Uint8Array;
  try {
    bytes = typeof source === "string" ? fileSystem(OP, source).readFile(source) : source;
  } catch (e) {
    throw fail(file, "a readable checkpoint file", errorText(e));
  }
  const archive = openArchive(bytes, file, limits);
  const pklName = `${archive.root}/data.pkl`;
  const pklSize = archive.zip.entries.get(pklName)!.size;
  if (pklSize > limits.maxPickleBytes) {
    throw fail(`${file}:${pklName}`, `a pickle of at most maxPickleBytes = ${limits.maxPickleBytes} bytes`, `${pklSize} bytes`, limitHint("maxPickleBytes"));
  }
  const result = unpickle<Own>(archive.zip.read(pklName), {
    source: `${file}:${pklName}`,
    limits,
    resolveGlobal: allowedGlobals(archive, file),
    persistentLoad: (pid) => storageRef(pid, file),
    describe: describeOwn,
  });
  return toStateDict(result, file);
}

function openArchive(bytes: Uint8Array, file: string, limits: TorchLimits): Archive {
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04)) {
    // The pre-1.6 format is a bare pickle stream, which starts with the PROTO opcode.
    const legacy = bytes[0] === 0x80;
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw fail(file, "a zip archive written by torch.save (PyTorch >= 1.6)", legacy ? "a legacy non-zip torch.save file" : `leading bytes [${head}]`,
      legacy ? "re-save it with a current PyTorch" : "not a PyTorch checkpoint, or truncated");
  }
  // Only the directory is read here; members are read (or inflated) when the pickle refers to them.
  const zip = new ZipArchive(bytes, file, limits);
  const pickles = [...zip.entries.keys()].filter((m) => /^[^/]+\/data\.pkl$/.test(m));
  if (pickles.length !== 1) {
    throw fail(file, "exactly one <root>/data.pkl member", pickles.length ? pickles.join(", ") : "none", "not a torch.save archive?");
  }
  const root = pickles[0]!.slice(0, -"/data.pkl".length);
  const orderName = `${root}/byteorder`;
  const order = zip.entries.has(orderName) && zip.entries.get(orderName)!.size <= 16 ? zip.read(orderName) : undefined;
  if (zip.entries.has(orderName) && order === undefined) throw fail(`${file}:${orderName}`, `"little" or "big"`, `${zip.entries.get(orderName)!.size} bytes`);
  // Files written before the byteorder record existed are little-endian.
  const byteorder = order ? new TextDecoder().decode(order).trim() : "little";
  if (byteorder !== "little" && byteorder !== "big") throw fail(`${file}:${root}/byteorder`, `"little" or "big"`, JSON.stringify(byteorder));
  let storageBytes = 0;
  for (const e of zip.entries.values()) if (e.name.startsWith(`${root}/data/`)) storageBytes += e.size;
  const maxCopied = limits.maxCopiedBytes ?? 2 * storageBytes + (64 << 20);
  return { root, zip, bigEndian: byteorder === "big", limits, copied: 0, maxCopied };
}

function allowedGlobals(archive: Archive, file: string): (module: string, name: string) => Value {
  const storages = new Map<string, HostArray>();
  const loadStorage = (ref: StorageRef): HostArray => {
    // Keyed by type too: one untyped storage may in principle be viewed as two dtypes.
    const id = `${ref.key}:${ref.type.name}:${ref.numel}`;
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
    ["torch._utils._rebuild_tensor_v2", new PyCallable<Own>("torch._utils._rebuild_tensor_v2", (args) => rebuildTensor(args, loadStorage, archive, file))],
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
  const entry = archive.zip.entries.get(member);
  if (entry === undefined) throw fail(`${file}:${member}`, `the storage record for key ${ref.key}`, "no such member");
  const { dtype, itemBytes, widen } = ref.type.kind;
  // Checked against the directory before anything is read or inflated.
  if (entry.size !== ref.numel * itemBytes) {
    throw fail(`${file}:${member}`, `${ref.numel * itemBytes} bytes (${ref.numel} x ${ref.type.name})`, `${entry.size} bytes`);
  }
  const bytes = archive.zip.read(member);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lowFirst = !archive.bigEndian;
  if (widen !== undefined) {
    chargeCopy(archive, ref.numel * 4, `${file}:${member}`);
    if (widen === "bfloat16") {
      // bfloat16 is the top half of a float32: shift the bits into place and reinterpret.
      const bits = new Uint32Array(ref.numel);
      for (let i = 0; i < bits.length; i++) bits[i] = view.getUint16(2 * i, lowFirst) << 16;
      return new Float32Array(bits.buffer);
    }
    const out = new Float32Array(ref.numel);
    for (let i = 0; i < out.length; i++) out[i] = halfToFloat(view.getUint16(2 * i, lowFirst));
    return out;
  }
  if (!archive.bigEndian || itemBytes === 1) {
    const { data, copied } = hostArrayOf(dtype, bytes);
    if (copied) chargeCopy(archive, bytes.length, `${file}:${member}`);
    return data;
  }
  chargeCopy(archive, bytes.length, `${file}:${member}`);
  const out = allocHostArray(dtype, ref.numel);
  const outBytes = new Uint8Array(out.buffer);
  outBytes.set(bytes);
  for (let i = 0; i < outBytes.length; i += itemBytes) outBytes.subarray(i, i + itemBytes).reverse();
  return out;
}

function chargeCopy(archive: Archive, bytes: number, scope: string): void {
  archive.copied += bytes;
  if (archive.copied > archive.maxCopied) {
    throw fail(scope, `at most maxCopiedBytes = ${archive.maxCopied} bytes of copied tensor data`, `${archive.copied} bytes so far`, limitHint("maxCopiedBytes"));
  }
}

/** _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]). */
function rebuildTensor(args: readonly Value[], loadStorage: (ref: StorageRef) => HostArray, archive: Archive, file: string): HostTensor {
  const [storage, offset, size, stride] = args;
  if (args.length < 6 || args.length > 7 || !(storage instanceof StorageRef)) {
    throw fail(file, "_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)", `${args.length} arguments, first ${describe(args[0] ?? null)}`);
  }
  const scope = `${file}:${storage.key}`;
  const dims = intTuple(size, "size", scope), steps = intTuple(stride, "stride", scope);
  const { maxRank } = archive.limits;
  if (dims.length > maxRank) throw fail(scope, `at most maxRank = ${maxRank} dimensions`, `${dims.length}`, limitHint("maxRank"));
  if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0 || steps.length !== dims.length) {
    throw fail(scope, "a non-negative offset and one stride per dimension", `offset ${describe(offset ?? null)}, size ${fmtShape(dims)}, stride ${fmtShape(steps)}`);
  }
  const layout = `offset ${offset}, size ${fmtShape(dims)}, stride ${fmtShape(steps)}`;
  // All of this is arithmetic on the declared numbers: nothing is read or allocated until the view
  // is known to lie inside the storage and to need no more elements than the storage has.
  let numel = 1, last = offset;
  for (let d = 0; d < dims.length; d++) {
    numel *= dims[d]!;
    if (dims[d]! > 0) last += (dims[d]! - 1) * steps[d]!;
  }
  if (numel === 0) return new HostTensor(storage.type.kind.dtype, dims, allocHostArray(storage.type.kind.dtype, 0));
  if (!Number.isSafeInteger(last) || last >= storage.numel) {
    throw fail(scope, `a view inside the storage's ${storage.numel} elements`, `${layout} reaching element ${last}`);
  }
  if (numel > storage.numel - offset) {
    // A view with more elements than the storage holds repeats elements (stride 0, overlapping
    // strides): materialising it would turn a tiny file into an arbitrarily large allocation.
    throw fail(scope, `a view of at most the storage's ${Math.max(storage.numel - offset, 0)} elements after the offset`, `${layout} (${numel} elements)`,
      "stride-0 and overlapping views (expand/broadcast results) are refused; save tensor.contiguous() instead");
  }
  const src = loadStorage(storage);
  if (isContiguous(dims, steps)) return new HostTensor(storage.type.kind.dtype, dims, src.subarray(offset, offset + numel));
  chargeCopy(archive, numel * src.BYTES_PER_ELEMENT, scope);
  return new HostTensor(storage.type.kind.dtype, dims, gather(src, storage.type.kind.dtype, offset, dims, steps));
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
