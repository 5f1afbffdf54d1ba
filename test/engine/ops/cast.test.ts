import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { grad } from "../../../src/engine/autodiff/grad.js";
import { cast, fillLike, mul, onesLike, reduceSum, stopGradient, zerosLike, add } from "../../../src/engine/ops/index.js";
import { CompiledGraph } from "../../../src/engine/runtime/session.js";
import { Rng, assertClose, assertEqualValues, assertGradients, evaluate, evaluate1, randn, runGraph, symbolic } from "../helpers.js";

describe("cast", () => {
  test("cast float32 -> int64 truncates toward zero", async () => {
    const y = await evaluate1((x) => cast(x, "int64"), [HostTensor.f32([1.7, -1.7, 0.2, -0.2, 3])]);
    assert.equal(y.dtype, "int64");
    assertEqualValues(y, { shape: [5], data: [1, -1, 0, 0, 3] });
  });

  test("cast int64 -> float32, float32 -> float64, int32", async () => {
    assertClose(await evaluate1((x) => cast(x, "float32"), [HostTensor.i64([-3, 0, 2 ** 20])]), [-3, 0, 2 ** 20]);
    const d = await evaluate1((x) => cast(x, "float64"), [HostTensor.f32([0.1, 2])]);
    assert.equal(d.dtype, "float64");
    assertClose(d, [Math.fround(0.1), 2], { rtol: 0, atol: 0 });
    const i32 = await evaluate1((x) => cast(x, "int32"), [HostTensor.f32([5.9, -5.9])]);
    assert.equal(i32.dtype, "int32");
    assertEqualValues(i32, { shape: [2], data: [5, -5] });
  });

  test("cast float32 <-> bool: nonzero is true", async () => {
    const b = await evaluate1((x) => cast(x, "bool"), [HostTensor.f32([0, 0.5, -2, 0])]);
    assert.equal(b.dtype, "bool");
    assertEqualValues(b, { shape: [4], data: [0, 1, 1, 0] });
    assertClose(await evaluate1((x) => cast(x, "float32"), [new HostTensor("bool", [3], Uint8Array.from([1, 0, 1]))]), [1, 0, 1]);
  });

  test("cast to the same dtype records no node", () => {
    const { g, xs: [x] } = symbolic([{ dtype: "float32", shape: [2] }]);
    assert.equal(cast(x!, "float32"), x);
    assert.equal(g.nodes.length, 0);
  });

  test("cast VJP float32 -> float64 -> float32 x=[3,4]", async () => {
    await assertGradients((x) => cast(mul(cast(x, "float64"), cast(x, "float64")), "float32"), [randn(new Rng(1), [3, 4])]);
  });

  test("a cast through int64 cuts the gradient (zero, no error)", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [3]);
    const loss = reduceSum(add(mul(cast(cast(x, "int64"), "float32"), 5), x));
    const [gx] = grad(loss, [x]);
    const r = await runGraph(g, { gx: gx! }, { x: HostTensor.f32([1.5, 2.5, -3]) });
    assertClose(r.gx!, [1, 1, 1]);
  });
});

describe("stopGradient", () => {
  test("stopGradient is the identity forward and zero backward", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, 2]);
    const y = stopGradient(x);
    // loss = sum(x * stop(x)) : d/dx = stop(x) only.
    const [gx] = grad(reduceSum(mul(x, y)), [x]);
    const xv = HostTensor.f32([1, -2, 3, 4], [2, 2]);
    const r = await runGraph(g, { y, gx: gx! }, { x: xv });
    assertClose(r.y!, xv);
    assertClose(r.gx!, xv);
  });
});

describe("fillLike", () => {
  test("zerosLike, onesLike, fillLike(3.5), fillLike int64 x=[2,3]", async () => {
    const [z, o, f, i] = await evaluate((x) => [zerosLike(x), onesLike(x), fillLike(x, 3.5), fillLike(x, 7, "int64")], [HostTensor.f32([1, 2, 3, 4, 5, 6], [2, 3])]);
    assertClose(z!, { shape: [2, 3], data: [0, 0, 0, 0, 0, 0] });
    assertClose(o!, { shape: [2, 3], data: [1, 1, 1, 1, 1, 1] });
    assertClose(f!, { shape: [2, 3], data: [3.5, 3.5, 3.5, 3.5, 3.5, 3.5] });
    assert.equal(i!.dtype, "int64");
    assertEqualValues(i!, { shape: [2, 3], data: [7, 7, 7, 7, 7, 7] });
  });

  test("fillLike follows a symbolic batch: x=[B,3] with B=2 then B=5", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", ["B", 3]);
    const y = fillLike(x, 2);
    assert.deepEqual([...y.shape], ["B", 3]);
    const s = await CompiledGraph.create(g, { y }, { threads: 1 });
    for (const b of [2, 5]) {
      const r = await s.run({ x: HostTensor.zeros("float32", [b, 3]) });
      assertClose(r.y!, { shape: [b, 3], data: new Array(b * 3).fill(2) });
    }
    await s.dispose();
  });

  test("fillLike float64 of a scalar", async () => {
    const y = await evaluate1((x) => fillLike(x, 0.1, "float64"), [HostTensor.f32([0], [])]);
    assert.equal(y.dtype, "float64");
    assert.deepEqual([...y.shape], []);
    assert.equal(y.at(0), 0.1);
  });
});
