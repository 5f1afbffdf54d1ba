import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { FeedError } from "../../../src/engine/errors.js";
import { add, cast, greater, matmul, mul, reduceSum } from "../../../src/engine/ops/index.js";
import { CompiledGraph, SESSION_MEMORY_DEFAULTS } from "../../../src/engine/runtime/session.js";
import { Rng, assertClose, assertEqualValues, randn, runGraph } from "../helpers.js";

/** Awaits a rejected promise and checks it is a FeedError with the given field substrings. */
async function rejectsFeed(p: Promise<unknown>, fields: { scope?: string; expected?: string[]; got?: string[] }): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof FeedError, `expected FeedError, got ${String(e)}`);
    assert.equal(e.op, "CompiledGraph.run");
    if (fields.scope !== undefined) assert.equal(e.scope, fields.scope);
    for (const s of fields.expected ?? []) assert.ok(e.expected.includes(s), `expected "${e.expected}" mentions "${s}"`);
    for (const s of fields.got ?? []) assert.ok(e.got.includes(s), `got "${e.got}" mentions "${s}"`);
    return true;
  });
}

/** y = x @ W + b with W, b parameters under scope "lin". */
function linear() {
  const g = new Graph();
  const x = g.input("x", "float32", ["B", 3]);
  const w = g.scope("lin", () => g.param("weight", [3, 2], { kind: "constant", value: 0 }));
  const b = g.scope("lin", () => g.param("bias", [2], { kind: "constant", value: 0 }));
  return { g, x, y: add(matmul(x, w), b) };
}

describe("CompiledGraph.run feed errors", () => {
  const rng = new Rng(3131);
  const params = new Map([["lin.weight", randn(rng, [3, 2])], ["lin.bias", randn(rng, [2])]]);

  test("unknown feed: FeedError listing the graph inputs", async () => {
    const { g, y } = linear();
    const s = await CompiledGraph.create(g, { y }, { threads: 1 });
    await rejectsFeed(s.run({ x: randn(rng, [2, 3]), z: randn(rng, [2]) }, params), { expected: ["[x]"], got: ['unknown feed "z"'] });
    await s.dispose();
  });

  test("missing graph input: FeedError naming it with its dtype and shape", async () => {
    const { g, y } = linear();
    const s = await CompiledGraph.create(g, { y }, { threads: 1 });
    await rejectsFeed(s.run({}, params), { expected: ['graph input "x" float32[B, 3]'], got: ["nothing"] });
    await s.dispose();
  });

  test("missing parameter: FeedError naming the state-dict key", async () => {
    const { g, y } = linear();
    const s = await CompiledGraph.create(g, { y }, { threads: 1 });
    await rejectsFeed(s.run({ x: randn(rng, [2, 3]) }), { expected: ['parameter "lin.weight" float32[3, 2]'], got: ["nothing"] });
    await rejectsFeed(s.run({ x: randn(rng, [2, 3]) }, new Map([["lin.weight", params.get("lin.weight")!]])), { expected: ['parameter "lin.bias"'] });
    await s.dispose();
  });

  test("wrong feed shape, rank and dtype: FeedError scoped to the input", async () => {
    const { g, y } = linear();
    const s = await CompiledGraph.create(g, { y }, { threads: 1 });
    await rejectsFeed(s.run({ x: randn(rng, [2, 4]) }, params), { scope: "x", expected: ["float32[B, 3]"], got: ["float32[2, 4]"] });
    await rejectsFeed(s.run({ x: randn(rng, [6]) }, params), { scope: "x", got: ["float32[6]"] });
    await rejectsFeed(s.run({ x: HostTensor.f64(new Array(6).fill(0), [2, 3]) }, params), { scope: "x", got: ["float64[2, 3]"] });
    await s.dispose();
  });

  test("wrong parameter shape: FeedError scoped to the key", async () => {
    const { g, y } = linear();
    const s = await CompiledGraph.create(g, { y }, { threads: 1 });
    const bad = new Map([...params, ["lin.bias", randn(rng, [3])]]);
    await rejectsFeed(s.run({ x: randn(rng, [2, 3]) }, bad), { scope: "lin.bias", expected: ["float32[2]"], got: ["float32[3]"] });
    await s.dispose();
  });

  test("a symbol bound to two sizes across feeds: FeedError", async () => {
    const g = new Graph();
    const a = g.input("a", "float32", ["B", 3]);
    const b = g.input("b", "float32", ["B", 1]);
    const s = await CompiledGraph.create(g, { y: mul(a, b) }, { threads: 1 });
    await rejectsFeed(s.run({ a: randn(rng, [2, 3]), b: randn(rng, [3, 1]) }), { scope: "b", expected: ["B = 2"], got: ["3"] });
    const ok = await s.run({ a: randn(rng, [4, 3]), b: randn(rng, [4, 1]) });
    assert.deepEqual([...ok.y!.shape], [4, 3]);
    await s.dispose();
  });

  test("an input the outputs do not need is not a model input, so feeding it is an unknown feed", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2]);
    g.input("unused", "float32", [2]);
    const s = await CompiledGraph.create(g, { y: mul(x, 3) }, { threads: 1 });
    assert.deepEqual(s.model.inputs.map((i) => i.name), ["x"]);
    await rejectsFeed(s.run({ x: HostTensor.f32([1, 2]), unused: HostTensor.f32([1, 2]) }), { got: ['unknown feed "unused"'] });
    assertClose((await s.run({ x: HostTensor.f32([1, 2]) })).y!, [3, 6]);
    await s.dispose();
  });

  test("outputs from another graph: FeedError at compile time", async () => {
    const g = new Graph();
    const other = new Graph().input("x", "float32", [2]);
    await assert.rejects(CompiledGraph.create(g, { y: other }), (e: unknown) => e instanceof FeedError && e.op === "exportModel");
  });
});

describe("CompiledGraph", () => {
  const rng = new Rng(3232);

  test("one compile, many runs with fresh feeds, parameters looked up per run", async () => {
    const { g, y } = linear();
    const s = await CompiledGraph.create(g, { y }, { threads: 1 });
    assert.deepEqual(s.paramKeys.sort(), ["lin.bias", "lin.weight"]);
    assert.deepEqual(s.model.inputs.map((i) => [i.name, i.kind]), [["x", "input"], ["lin.weight", "param"], ["lin.bias", "param"]]);
    for (const batch of [1, 4]) {
      const x = randn(rng, [batch, 3]), w = randn(rng, [3, 2]), b = randn(rng, [2]);
      const out = (await s.run({ x }, new Map([["lin.weight", w], ["lin.bias", b]]))).y!;
      const ref = Array.from({ length: batch * 2 }, (_, i) => {
        const r = Math.floor(i / 2), c = i % 2;
        return b.data[c]! + [0, 1, 2].reduce((acc, k) => acc + x.data[r * 3 + k]! * w.data[k * 2 + c]!, 0);
      });
      assertClose(out, { shape: [batch, 2], data: ref }, { rtol: 1e-5, atol: 1e-6 });
    }
    await s.dispose();
  });

  test("memoryArena false (no ORT CPU arena) computes the same values", async () => {
    const { g, y } = linear();
    const x = randn(rng, [2, 3]), w = randn(rng, [3, 2]), b = randn(rng, [2]);
    const params = new Map([["lin.weight", w], ["lin.bias", b]]);
    const [withArena, without] = await Promise.all([{}, { memoryArena: false }].map((o) => CompiledGraph.create(g, { y }, { threads: 1, ...o })));
    const [a, c] = await Promise.all([withArena!, without!].map(async (s) => (await s.run({ x }, params)).y!));
    assert.deepEqual(c!.toNumbers(), a!.toNumbers());
    await Promise.all([withArena!.dispose(), without!.dispose()]);
  });

  test("resident weights: no parameter inputs, nothing read at run time, the fed graph's values", async () => {
    const { g, y } = linear();
    const x = randn(rng, [4, 3]);
    const params = new Map([["lin.weight", randn(rng, [3, 2])], ["lin.bias", randn(rng, [2])]]);
    const fed = await CompiledGraph.create(g, { y }, { threads: 1 });
    const resident = await CompiledGraph.create(g, { y }, { threads: 1 }, { residentWeights: params });
    assert.deepEqual(resident.paramKeys, []);
    assert.deepEqual(resident.model.inputs.map((i) => i.name), ["x"]);
    assert.equal(resident.kind, "inference");
    assert.equal(fed.kind, "training");
    assert.ok(!("bytes" in resident.model), "the model bytes (with the weights) are not kept");
    const reads: string[] = [];
    const spy = { get: (k: string) => (reads.push(k), params.get(k)) };
    const want = (await fed.run({ x }, params)).y!;
    assertClose((await resident.run({ x }, spy)).y!, want, { rtol: 1e-6, atol: 1e-7 });
    assertClose((await resident.run({ x })).y!, want, { rtol: 1e-6, atol: 1e-7 });
    assert.deepEqual(reads, []);
    await Promise.all([fed.dispose(), resident.dispose()]);
  });

  test("resident weights: a missing value fails the compile with a FeedError naming the key", async () => {
    const { g, y } = linear();
    await assert.rejects(CompiledGraph.create(g, { y }, { threads: 1 }, { residentWeights: new Map() }), (e: unknown) => e instanceof FeedError && e.scope === "lin.weight");
  });

  test("memory options per kind, overridable: every combination computes the same values", async () => {
    for (const kind of ["inference", "sampling", "training"] as const) assert.deepEqual(SESSION_MEMORY_DEFAULTS[kind], { memoryArena: true, memoryPattern: false }, kind);
    const { g, y } = linear();
    const x = randn(rng, [2, 3]);
    const params = new Map([["lin.weight", randn(rng, [3, 2])], ["lin.bias", randn(rng, [2])]]);
    const values: number[][] = [];
    for (const memoryArena of [true, false]) {
      for (const memoryPattern of [true, false]) {
        const s = await CompiledGraph.create(g, { y }, { threads: 1, memoryArena, memoryPattern }, { kind: "inference" });
        values.push((await s.run({ x }, params)).y!.toNumbers());
        await s.dispose();
      }
    }
    for (const v of values.slice(1)) assert.deepEqual(v, values[0]);
  });

  test("outputs written into preallocated tensors are returned as those tensors", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, 2]);
    const s = await CompiledGraph.create(g, { y: add(x, 1), z: reduceSum(x) }, { threads: 1 });
    const into = HostTensor.zeros("float32", [2, 2]);
    const r = await s.run({ x: HostTensor.f32([1, 2, 3, 4], [2, 2]) }, undefined, { y: into });
    assert.equal(r.y, into);
    assertClose(into, [2, 3, 4, 5]);
    assertClose(r.z!, [10]);
    await s.dispose();
  });

  test("int64, bool and float64 outputs come back with their dtypes; constants are baked in", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [3]);
    const c = g.constant(HostTensor.f32([0.5, -1, 2]));
    const r = await runGraph(g, {
      i: cast(x, "int64"), b: greater(x, c), d: cast(add(x, c), "float64"), same: x,
    }, { x: HostTensor.f32([1, -2, 3]) });
    assert.equal(r.i!.dtype, "int64");
    assertEqualValues(r.i!, { shape: [3], data: [1, -2, 3] });
    assert.equal(r.b!.dtype, "bool");
    assertEqualValues(r.b!, { shape: [3], data: [1, 0, 1] });
    assert.equal(r.d!.dtype, "float64");
    assertClose(r.d!, [1.5, -3, 5]);
    assertClose(r.same!, [1, -2, 3]);
  });

  test("optimization levels all, basic and disabled agree", async () => {
    const x = randn(rng, [3, 4]);
    const results: number[][] = [];
    for (const optimization of ["all", "basic", "disabled"] as const) {
      const g = new Graph();
      const xt = g.input("x", "float32", [3, 4]);
      const s = await CompiledGraph.create(g, { y: reduceSum(mul(add(xt, 1), xt), [1]) }, { threads: 1, optimization });
      results.push((await s.run({ x })).y!.toNumbers());
      await s.dispose();
    }
    assertClose(HostTensor.f32(results[1]!), results[0]!, { rtol: 1e-6, atol: 1e-6 });
    assertClose(HostTensor.f32(results[2]!), results[0]!, { rtol: 1e-6, atol: 1e-6 });
  });
});
