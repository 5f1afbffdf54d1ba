import { test } from "node:test";
import assert from "node:assert/strict";
import { PyCallable, PyDict, PyList, PyTuple, unpickle, type PyValue } from "../../src/io/pickle.js";
import { CheckpointError } from "../../src/engine/errors.js";
import { PickleBuilder } from "./pickle-bytes.js";

const plain = {
  source: "test.pkl",
  resolveGlobal: (m: string, n: string): PyValue<never> => { throw new Error(`global ${m}.${n}`); },
  persistentLoad: (): PyValue<never> => { throw new Error("persid"); },
  describe: (): string => "never",
  // These streams hold a 70-bit integer; the default bound (8 bytes) is tested separately.
  limits: { maxIntBytes: 16 },
};

test("ints, longs, floats, strings, bools, None, tuples, lists, dicts and the memo", () => {
  const bytes = new PickleBuilder().proto()
    .op(0x7d).put(0).mark() // {} memo 0
    .str("small").int(7).str("u16").int(40000).str("i32").int(-5)
    .str("long").long(-(2n ** 70n)).str("long_small").long(123456789012n)
    .str("float").float(-0.125).str("flags").op(0x88).op(0x89).op(0x4e).tuple(3)
    .str("list").op(0x5d).int(1).op(0x61).mark().int(2).int(3).op(0x65)
    .str("again").get(0)
    .op(0x75).stop().build();
  const d = unpickle(bytes, plain);
  assert.ok(d instanceof PyDict);
  assert.equal(d.entries.get("small"), 7);
  assert.equal(d.entries.get("u16"), 40000);
  assert.equal(d.entries.get("i32"), -5);
  assert.equal(d.entries.get("long"), -(2n ** 70n));
  assert.equal(d.entries.get("long_small"), 123456789012);
  assert.equal(d.entries.get("float"), -0.125);
  assert.deepEqual((d.entries.get("flags") as PyTuple<never>).items, [true, false, null]);
  assert.deepEqual((d.entries.get("list") as PyList<never>).items, [1, 2, 3]);
  assert.equal(d.entries.get("again"), d, "BINGET returns the memoised object itself");
});

test("GLOBAL and REDUCE call only what resolveGlobal hands out", () => {
  const seen: string[] = [];
  const bytes = new PickleBuilder().proto().global("m", "f").str("x").int(2).tuple(2).reduce().stop().build();
  const out = unpickle<never>(bytes, {
    ...plain,
    resolveGlobal: (m, n) => { seen.push(`${m}.${n}`); return new PyCallable<never>(`${m}.${n}`, (args) => new PyList([...args])); },
  });
  assert.deepEqual(seen, ["m.f"]);
  assert.deepEqual((out as PyList<never>).items, ["x", 2]);
});

test("STACK_GLOBAL goes through resolveGlobal too", () => {
  const bytes = new PickleBuilder().proto(4).str("builtins").str("eval").op(0x93).stop().build();
  assert.throws(() => unpickle(bytes, plain), /global builtins\.eval/);
});

test("opcodes outside the state-dict subset are refused (INST, OBJ, NEWOBJ, EXT1)", () => {
  for (const op of [0x69, 0x6f, 0x81, 0x82]) {
    const bytes = new PickleBuilder().proto().op(op).stop().build();
    assert.throws(() => unpickle(bytes, plain), (e: unknown) => e instanceof CheckpointError && e.op === "unpickle" && e.got.includes(`0x${op.toString(16)}`));
  }
});

test("truncated streams and stack misuse are CheckpointErrors", () => {
  const full = new PickleBuilder().proto().str("hello").stop().build();
  for (const cut of [1, 4, 8, full.length - 1]) {
    assert.throws(() => unpickle(full.subarray(0, cut), plain), (e: unknown) => e instanceof CheckpointError && /end of data/.test(e.got), `cut at ${cut}`);
  }
  const cases = [
    new PickleBuilder().proto().reduce().stop(), // empty stack
    new PickleBuilder().proto().get(3).stop(), // unknown memo
    new PickleBuilder().proto().int(1).int(2).op(0x73).stop(), // SETITEM on an int
    new PickleBuilder().proto().int(1).op(0x62).stop(), // BUILD without a dict
    new PickleBuilder().proto().op(0x7d).op(0x29).int(1).op(0x73).stop(), // tuple as a dict key
    new PickleBuilder().proto().int(1).int(2).stop(), // leftover values at STOP
  ];
  for (const b of cases) assert.throws(() => unpickle(b.build(), plain), CheckpointError);
});

test("streams written by Python's pickle (protocol 2, and protocol 4 with FRAME/MEMOIZE) decode", () => {
  const fromHex = (h: string) => Uint8Array.from(h.match(/../g)!, (b) => parseInt(b, 16));
  // pickle.dumps({'a': -(2**70), 'b': 123456789012, 'c': -0.125, 'd': [1,2,3], 'e': (True, False, None), 'f': 'π', 'g': -300, 'h': 70000}, protocol=2)
  const p2 = unpickle(fromHex("80027d71002858010000006171018a090000000000000000c058010000006271028a05141a99be1c580100000063710347bfc0000000000000" +
    "58010000006471045d7105284b014b024b0365580100000065710688894e87710758010000006671085802000000cf807109580100000067710a4ad4feffff" +
    "580100000068710b4a70110100752e"), plain) as PyDict<never>;
  assert.deepEqual([...p2.entries.keys()], ["a", "b", "c", "d", "e", "f", "g", "h"]);
  assert.equal(p2.entries.get("a"), -(2n ** 70n));
  assert.equal(p2.entries.get("b"), 123456789012);
  assert.equal(p2.entries.get("c"), -0.125);
  assert.deepEqual((p2.entries.get("d") as PyList<never>).items, [1, 2, 3]);
  assert.deepEqual((p2.entries.get("e") as PyTuple<never>).items, [true, false, null]);
  assert.equal(p2.entries.get("f"), "π");
  assert.equal(p2.entries.get("g"), -300);
  assert.equal(p2.entries.get("h"), 70000);
  // pickle.dumps({'a': -(2**70), 'b': [1,2,(3,4)], 'f': 'π', 'i': b'xy'}, protocol=4)
  const p4 = unpickle(fromHex("80049538000000000000007d94288c0161948a090000000000000000c08c0162945d94284b014b024b034b048694658c0166948c02cf80948c" +
    "0169944302787994752e"), plain) as PyDict<never>;
  assert.equal(p4.entries.get("a"), -(2n ** 70n));
  const list = (p4.entries.get("b") as PyList<never>).items;
  assert.deepEqual(list.slice(0, 2), [1, 2]);
  assert.deepEqual((list[2] as PyTuple<never>).items, [3, 4]);
  assert.equal(p4.entries.get("f"), "π");
  assert.deepEqual(p4.entries.get("i"), Uint8Array.from([0x78, 0x79]));
});
