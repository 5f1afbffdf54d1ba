import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor, shapeSize } from "../../../src/engine/host-tensor.js";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { DTypeError, ShapeError } from "../../../src/engine/errors.js";
import { argMax, cumSum, topK } from "../../../src/engine/ops/index.js";
import {
  Rng, assertClose, assertEqualValues, assertGradients, assertThrowsFields, evaluate, evaluate1, fmt, randDistinct, randn, randShape, ravel,
  runGraph, symbolic, unravel, type Ref,
} from "../helpers.js";

function refCumSum(x: Ref, axis: number, reverse: boolean): Ref {
  const ax = axis < 0 ? axis + x.shape.length : axis, n = x.shape[ax]!;
  const data = Array.from({ length: x.data.length }, (_, i) => {
    const idx = unravel(i, x.shape);
    let s = 0;
    for (let k = reverse ? idx[ax]! : 0; reverse ? k < n : k <= idx[ax]!; k++) s += x.data[ravel(idx.map((v, j) => (j === ax ? k : v)), x.shape)]!;
    return s;
  });
  return { shape: x.shape, data };
}

/** Rows along the last axis, sorted (largest first unless !largest), first k: values and indices. */
function refTopK(x: Ref, k: number, largest: boolean): { values: Ref; indices: Ref } {
  const n = x.shape[x.shape.length - 1]!, rows = x.data.length / n;
  const values: number[] = [], indices: number[] = [];
  for (let r = 0; r < rows; r++) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (largest ? x.data[r * n + b]! - x.data[r * n + a]! : x.data[r * n + a]! - x.data[r * n + b]!));
    for (const i of order.slice(0, k)) { values.push(x.data[r * n + i]!); indices.push(i); }
  }
  const shape = [...x.shape.slice(0, -1), k];
  return { values: { shape, data: values }, indices: { shape, data: indices } };
}

describe("cumSum", () => {
  const rng = new Rng(2727);
  for (const [axis, reverse] of [[0, false], [1, false], [-1, false], [1, true], [0, true]] as [number, boolean][]) {
    test(`cumSum x=[3,4] axis=${axis} reverse=${reverse}`, async () => {
      const x = randn(rng, [3, 4]);
      assertClose(await evaluate1((t) => cumSum(t, axis, reverse), [x]), refCumSum(x, axis, reverse), { rtol: 1e-5, atol: 1e-6 });
    });
  }

  test("cumSum int64 x=[5]", async () => {
    assertEqualValues(await evaluate1((t) => cumSum(t, 0), [HostTensor.i64([1, 2, 3, 4, 5])]), { shape: [5], data: [1, 3, 6, 10, 15] });
  });

  for (let k = 0; k < 4; k++) {
    const shape = randShape(rng, 1 + rng.int(3), 1, 5);
    const axis = rng.int(shape.length);
    const reverse = k % 2 === 1;
    test(`cumSum VJP x=${fmt(shape)} axis=${axis} reverse=${reverse}`, async () => {
      await assertGradients((t) => cumSum(t, axis, reverse), [randn(rng, shape)]);
    });
  }

  test("cumSum axis out of range is a ShapeError; bool a DTypeError", () => {
    const { xs: [x, b] } = symbolic([{ dtype: "float32", shape: [3, 4] }, { dtype: "bool", shape: [3] }]);
    assertThrowsFields(() => cumSum(x!, 2), ShapeError, { op: "cumSum", got: "2" });
    assertThrowsFields(() => cumSum(b!, 0), DTypeError, { op: "cumSum", got: "bool" });
  });
});

describe("topK and argMax", () => {
  const rng = new Rng(2828);
  for (const largest of [true, false]) {
    test(`topK x=[3,6] k=3 largest=${largest}`, async () => {
      const [x] = randDistinct(rng, [[3, 6]]);
      const [v, i] = await evaluate((t) => topK(t, 3, -1, largest), [x!]);
      const ref = refTopK(x!, 3, largest);
      assertClose(v!, ref.values, { rtol: 0, atol: 0 });
      assert.equal(i!.dtype, "int64");
      assertEqualValues(i!, ref.indices);
    });
  }

  test("topK along axis 0 x=[4,2] k=2", async () => {
    const x = HostTensor.f32([1, 8, 5, 2, 3, 7, 9, 0], [4, 2]);
    const [v, i] = await evaluate((t) => topK(t, 2, 0), [x]);
    assertClose(v!, { shape: [2, 2], data: [9, 8, 5, 7] });
    assertEqualValues(i!, { shape: [2, 2], data: [3, 0, 1, 2] });
  });

  test("topK with k fed as int64[1] x=[2,5]", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, 5]);
    const k = g.input("k", "int64", [1]);
    const [v, i] = topK(x, k);
    assert.equal(typeof v.shape[1], "string");
    const xv = HostTensor.f32([3, 1, 4, 1.5, 9, 2, 6, 5, 3.5, 8], [2, 5]);
    const r = await runGraph(g, { v, i }, { x: xv, k: HostTensor.i64([2]) });
    assertClose(r.v!, { shape: [2, 2], data: [9, 4, 8, 6] });
    assertEqualValues(r.i!, { shape: [2, 2], data: [4, 2, 4, 1] });
  });

  test("argMax x=[2,3,4] axis=1 keepdims false/true and axis=-1", async () => {
    const [x] = randDistinct(rng, [[2, 3, 4]]);
    const [a, b, c] = await evaluate((t) => [argMax(t, 1), argMax(t, 1, true), argMax(t)], [x!]);
    const full = [2, 3, 4];
    const arg = (axis: number): number[] => {
      const shape = full.filter((_, i) => i !== axis);
      return Array.from({ length: shapeSize(shape) }, (_, o) => {
        const idx = unravel(o, shape);
        const at = (m: number) => x!.data[ravel([...idx.slice(0, axis), m, ...idx.slice(axis)], full)]!;
        let best = 0;
        for (let k = 1; k < full[axis]!; k++) if (at(k) > at(best)) best = k;
        return best;
      });
    };
    assertEqualValues(a!, { shape: [2, 4], data: arg(1) });
    assertEqualValues(b!, { shape: [2, 1, 4], data: arg(1) });
    assertEqualValues(c!, { shape: [2, 3], data: arg(2) });
  });

  test("topK with k larger than the axis, or a float k tensor, is a ShapeError", () => {
    const { xs: [x, kf] } = symbolic([{ dtype: "float32", shape: [2, 4] }, { dtype: "float32", shape: [1] }]);
    assertThrowsFields(() => topK(x!, 5), ShapeError, { op: "topK", expected: "k <= 4", got: "5" });
    assertThrowsFields(() => topK(x!, kf!), ShapeError, { op: "topK", expected: "int64[1]" });
  });

  test("argMax axis out of range is a ShapeError", () => {
    const { xs: [x] } = symbolic([{ dtype: "float32", shape: [2, 4] }]);
    assertThrowsFields(() => argMax(x!, 2), ShapeError, { op: "argMax" });
  });
});
