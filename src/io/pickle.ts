// A restricted pickle reader. It only builds plain values (None, bool, int, float, str, bytes, tuple,
// list, dict) and calls callables handed out by the caller's `resolveGlobal`, so a checkpoint file can
// never make us import or run anything. `X` is the caller's own object types (e.g. tensors).

import { CheckpointError } from "../engine/errors.js";

export class PyTuple<X> { constructor(readonly items: readonly PyValue<X>[]) {} }
export class PyList<X> { constructor(readonly items: PyValue<X>[]) {} }
export class PyDict<X> {
  readonly entries = new Map<PyKey, PyValue<X>>();
  /** Instance attributes set by BUILD (e.g. a state dict's `_metadata`); kept but not interpreted. */
  attributes: PyValue<X> = null;
}
/** A callable the caller allowed; `name` is "module.qualname" for messages. */
export class PyCallable<X> {
  constructor(readonly name: string, readonly call: (args: readonly PyValue<X>[]) => PyValue<X>) {}
}

export type PyKey = string | number | bigint | boolean | null;
export type PyValue<X> = PyKey | Uint8Array | PyTuple<X> | PyList<X> | PyDict<X> | PyCallable<X> | X;

export interface UnpickleOptions<X> {
  /** Label for error messages (the file and member name). */
  readonly source: string;
  /** Returns the value for GLOBAL / STACK_GLOBAL, or throws to refuse it. */
  readonly resolveGlobal: (module: string, name: string) => PyValue<X>;
  /** Resolves BINPERSID ids (torch uses them for storages). */
  readonly persistentLoad: (pid: PyValue<X>) => PyValue<X>;
  /** Names the caller's own object types in messages. */
  readonly describe: (v: X) => string;
  readonly limits?: Partial<PickleLimits>;
}

/** Bounds that keep a hostile pickle's cost linear in its size and small in memory. */
export interface PickleLimits {
  /** Bytes of a LONG1/LONG4 integer (default 8: state dicts hold no integers above 64 bits). */
  readonly maxIntBytes: number;
  /** Bytes of one str or bytes value (default 16 MiB). */
  readonly maxStringBytes: number;
  /** Values on the stack at once (default 1,000,000). */
  readonly maxStackSize: number;
  /** Memo entries (default 1,000,000). */
  readonly maxMemoSize: number;
}

export const DEFAULT_PICKLE_LIMITS: PickleLimits = { maxIntBytes: 8, maxStringBytes: 16 << 20, maxStackSize: 1_000_000, maxMemoSize: 1_000_000 };

const UTF8 = new TextDecoder("utf-8", { fatal: true });
const MARK_OPS = { MARK: 0x28, TUPLE: 0x74, LIST: 0x6c, DICT: 0x64, SETITEMS: 0x75, APPENDS: 0x65, POP_MARK: 0x31 } as const;

export function unpickle<X>(bytes: Uint8Array, opts: UnpickleOptions<X>): PyValue<X> {
  const limits: PickleLimits = { ...DEFAULT_PICKLE_LIMITS, ...opts.limits };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: PyValue<X>[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue<X>>();
  let pos = 0;

  const fail = (expected: string, got: string): CheckpointError =>
    new CheckpointError({ op: "unpickle", scope: opts.source, expected, got, hint: `at pickle byte ${pos}` });
  const overLimit = (field: keyof PickleLimits, what: string, got: string): CheckpointError =>
    new CheckpointError({ op: "unpickle", scope: opts.source, expected: `${what} of at most ${field} = ${limits[field]}`, got,
      hint: `at pickle byte ${pos}; raise it with { limits: { ${field} } } if the file is trusted` });
  const need = (n: number): number => {
    if (n < 0 || pos + n > bytes.length) throw fail(`${n} more bytes`, `end of data at byte ${bytes.length}`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => bytes[need(1)]!;
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = () => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw fail("a length below 2^53", `${v}`);
    return Number(v);
  };
  const sized = (n: number): number => {
    if (n > limits.maxStringBytes) throw overLimit("maxStringBytes", "a str/bytes value", `${n} bytes`);
    return need(n);
  };
  const raw = (n: number) => bytes.slice(sized(n), pos);
  const utf8 = (n: number) => {
    const at = sized(n);
    try {
      return UTF8.decode(bytes.subarray(at, pos));
    } catch {
      throw fail("a UTF-8 string", `${n} bytes that are not valid UTF-8`);
    }
  };
  const latin1 = (n: number) => {
    const at = sized(n);
    let s = "";
    // Chunked: String.fromCharCode takes its bytes as call arguments.
    for (let i = at; i < pos; i += 8192) s += String.fromCharCode(...bytes.subarray(i, Math.min(pos, i + 8192)));
    return s;
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw fail("a newline-terminated name", "end of data");
    return utf8(end - pos + 1).slice(0, -1);
  };
  const describe = (v: PyValue<X>): string => describeValue(v, opts.describe);

  const push = (v: PyValue<X>) => {
    if (stack.length >= limits.maxStackSize) throw overLimit("maxStackSize", "a stack", `${stack.length + 1} values`);
    stack.push(v);
  };
  const memoSet = (i: number, v: PyValue<X>) => {
    if (!memo.has(i) && memo.size >= limits.maxMemoSize) throw overLimit("maxMemoSize", "a memo", `${memo.size + 1} entries`);
    memo.set(i, v);
  };
  const pop = (): PyValue<X> => {
    if (stack.length === 0 || stack.length === marks[marks.length - 1]) throw fail("a value on the stack", "an empty stack");
    return stack.pop()!;
  };
  const top = (): PyValue<X> => {
    if (stack.length === 0 || stack.length === marks[marks.length - 1]) throw fail("a value on the stack", "an empty stack");
    return stack[stack.length - 1]!;
  };
  const popMark = (): PyValue<X>[] => {
    const m = marks.pop();
    if (m === undefined) throw fail("a MARK on the stack", "none");
    return stack.splice(m);
  };
  const key = (v: PyValue<X>): PyKey => {
    if (v === null || ["string", "number", "bigint", "boolean"].includes(typeof v)) return v as PyKey;
    throw fail("a str/int/bool/None dict key", describe(v));
  };
  const dictAt = (v: PyValue<X>): PyDict<X> => {
    if (v instanceof PyDict) return v;
    throw fail("a dict to set items on", describe(v));
  };
  const listAt = (v: PyValue<X>): PyList<X> => {
    if (v instanceof PyList) return v;
    throw fail("a list to append to", describe(v));
  };
  const memoGet = (i: number): PyValue<X> => {
    if (!memo.has(i)) throw fail(`memo entry ${i}`, "a missing entry");
    return memo.get(i)!;
  };
  const intFromBytes = (n: number): number | bigint => {
    // Bounded because building a big integer byte by byte is quadratic in its length.
    if (n > limits.maxIntBytes) throw overLimit("maxIntBytes", "a LONG integer", `${n} bytes`);
    const b = bytes.subarray(need(n), pos);
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b.length > 0 && b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const setItems = (d: PyDict<X>, items: PyValue<X>[]) => {
    if (items.length % 2 !== 0) throw fail("key/value pairs", `${items.length} items`);
    for (let i = 0; i < items.length; i += 2) d.entries.set(key(items[i]!), items[i + 1]!);
  };
  const appendAll = (l: PyList<X>, items: PyValue<X>[]) => {
    // A loop, not push(...items): spreading a million values overflows the call stack.
    for (const v of items) l.items.push(v);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: { const proto = u8(); if (proto > 5) throw fail("pickle protocol <= 5", `${proto}`); break; } // PROTO
      case 0x95: need(8); break; // FRAME: framing is only a read-ahead hint
      case 0x2e: { // STOP
        const result = pop();
        if (stack.length !== 0 || marks.length !== 0) throw fail("an empty stack at STOP", `${stack.length} values, ${marks.length} marks`);
        return result;
      }
      case MARK_OPS.MARK:
        if (marks.length >= limits.maxStackSize) throw overLimit("maxStackSize", "a mark stack", `${marks.length + 1} marks`);
        marks.push(stack.length);
        break;
      case 0x30: pop(); break; // POP
      case MARK_OPS.POP_MARK: popMark(); break;
      case 0x32: push(top()); break; // DUP
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x4a: push(view.getInt32(need(4), true)); break; // BININT
      case 0x8a: push(intFromBytes(u8())); break; // LONG1
      case 0x8b: push(intFromBytes(u32())); break; // LONG4
      case 0x47: push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian by spec)
      case 0x58: push(utf8(u32())); break; // BINUNICODE
      case 0x8c: push(utf8(u8())); break; // SHORT_BINUNICODE
      case 0x8d: push(utf8(u64())); break; // BINUNICODE8
      case 0x55: push(latin1(u8())); break; // SHORT_BINSTRING
      case 0x54: push(latin1(view.getInt32(need(4), true))); break; // BINSTRING
      case 0x43: push(raw(u8())); break; // SHORT_BINBYTES
      case 0x42: push(raw(u32())); break; // BINBYTES
      case 0x8e: push(raw(u64())); break; // BINBYTES8
      case 0x29: push(new PyTuple<X>([])); break; // EMPTY_TUPLE
      case 0x85: case 0x86: case 0x87: { // TUPLE1..3
        const n = op - 0x84;
        if (stack.length - n < (marks[marks.length - 1] ?? 0)) throw fail(`${n} values for TUPLE${n}`, `${stack.length} on the stack`);
        push(new PyTuple<X>(stack.splice(stack.length - n)));
        break;
      }
      case MARK_OPS.TUPLE: push(new PyTuple<X>(popMark())); break;
      case 0x5d: push(new PyList<X>([])); break; // EMPTY_LIST
      case MARK_OPS.LIST: push(new PyList<X>(popMark())); break;
      case 0x7d: push(new PyDict<X>()); break; // EMPTY_DICT
      case MARK_OPS.DICT: { const d = new PyDict<X>(); setItems(d, popMark()); push(d); break; }
      case 0x71: memoSet(u8(), top()); break; // BINPUT
      case 0x72: memoSet(u32(), top()); break; // LONG_BINPUT
      case 0x94: memoSet(memo.size, top()); break; // MEMOIZE
      case 0x68: push(memoGet(u8())); break; // BINGET
      case 0x6a: push(memoGet(u32())); break; // LONG_BINGET
      case 0x73: { const v = pop(); const k = key(pop()); dictAt(top()).entries.set(k, v); break; } // SETITEM
      case MARK_OPS.SETITEMS: { const items = popMark(); setItems(dictAt(top()), items); break; }
      case 0x61: { const v = pop(); listAt(top()).items.push(v); break; } // APPEND
      case MARK_OPS.APPENDS: { const items = popMark(); appendAll(listAt(top()), items); break; }
      case 0x63: { const module = line(); push(opts.resolveGlobal(module, line())); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop(), module = pop();
        if (typeof module !== "string" || typeof name !== "string") throw fail("str module and name", `${describe(module)}, ${describe(name)}`);
        push(opts.resolveGlobal(module, name));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop(), fn = pop();
        if (!(fn instanceof PyCallable)) throw fail("an allowed callable for REDUCE", describe(fn));
        if (!(args instanceof PyTuple)) throw fail(`an argument tuple for ${fn.name}`, describe(args));
        push(fn.call(args.items));
        break;
      }
      case 0x62: { // BUILD: only dict instance state (OrderedDict attributes) is accepted
        const state = pop(), obj = top();
        if (!(obj instanceof PyDict)) throw fail("BUILD on a dict", describe(obj));
        obj.attributes = state;
        break;
      }
      case 0x51: push(opts.persistentLoad(pop())); break; // BINPERSID
      default:
        throw fail("an opcode used by plain torch.save state dicts", `opcode 0x${op.toString(16).padStart(2, "0")} (${JSON.stringify(String.fromCharCode(op))})`);
    }
  }
}

export function describeValue<X>(v: PyValue<X>, describeOwn: (v: X) => string): string {
  if (v === null) return "None";
  if (typeof v === "boolean") return `bool ${v ? "True" : "False"}`;
  if (typeof v === "number" || typeof v === "bigint") return `int/float ${v}`;
  if (typeof v === "string") return `str ${JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v)}`;
  if (v instanceof Uint8Array) return `bytes[${v.length}]`;
  if (v instanceof PyTuple) return `tuple of ${v.items.length}`;
  if (v instanceof PyList) return `list of ${v.items.length}`;
  if (v instanceof PyDict) return `dict of ${v.entries.size}`;
  if (v instanceof PyCallable) return `callable ${v.name}`;
  return describeOwn(v);
}
