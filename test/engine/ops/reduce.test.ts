import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { Graph, type Tensor } from "../../../src/engine/graph/tensor.js";
import { DTypeError, ShapeError } from "../../../src/engine/errors.js";
import { grad } from "../../../src/engine/autodiff/grad.js";
import { reduceMax, reduceMean, reduceSum, sumToShape } from "../../../src/engine/ops/index.js";
import {
  Rng, asRef, assertClose, assertEqualValues, assertGradients, assertThrowsFields, evaluate1, fmt, randDistinct, randn, randShape, refReduce,
  runGraph, symbolic,
} from "../helpers.js";

type Reduce = (x: Tensor, axes?: readonly number[], keepdims?: boolean) => Tensor;
const OPS: Record<"sum" | "mean" | "max", Reduce> = { sum: reduceSum, mean: reduceMean, max: reduceMax };
const NAME = { sum: "reduceSum", mean: "reduceMean", max: "reduceMax" } as const;

/** A random non-empty subset of the axes of a rank-r tensor, sometimes written negatively. */
function randAxes(rng: Rng, r: number): number[] {
  const axes = Array.from({ length: r }, (_, i) => i).filter(() => rng.uniform() < 0.5);
  if (!axes.length) axes.push(rng.int(r));
  return rng.shuffle(axes.map((a) => (rng.uniform() < 0.3 ? a - r : a)));
}

describe("reduce forward", () => {
  const rng = new Rng(606);
  const x = randn(rng, [2, 3, 4]);
  const cases: [number[], boolean][] = [[[1], false], [[1], true], [[0, 2], false], [[-1], true], [[2, 0], true], [[0, 1, 2], false]];
  for (const kind of ["sum", "mean", "max"] as const) {
    for (const [axes, keep] of cases) {
      test(`${NAME[kind]} x=[2,3,4] axes=${fmt(axes)} keepdims=${keep}`, async () => {
        assertClose(await evaluate1((t) => OPS[kind](t, axes, keep), [x]), refReduce(asRef(x), axes, keep, kind));
      });
    }
    test(`${NAME[kind]} x=[2,3,4] default axes (all) gives a scalar`, async () => {
      assertClose(await evaluate1((t) => OPS[kind](t), [x]), refReduce(asRef(x), [0, 1, 2], false, kind));
    });
    test(`${NAME[kind]} x=[2,3] axes=[] is the identity`, async () => {
      const y = randn(rng, [2, 3]);
      assertClose(await evaluate1((t) => OPS[kind](t, [], false), [y]), asRef(y));
    });
  }

  test("reduceSum int64 x=[2,3] axes=[1]", async () => {
    const y = await evaluate1((t) => reduceSum(t, [1]), [HostTensor.i64([1, 2, 3, 4, 5, 6], [2, 3])]);
    assert.equal(y.dtype, "int64");
    assertEqualValues(y, { shape: [2], data: [6, 15] });
  });

  test("reduceMean over a symbolic axis x=[B,4] runs for B=3", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", ["B", 4]);
    const m = reduceMean(x, [0]);
    const all = reduceMean(x);
    const xv = randn(rng, [3, 4]);
    const r = await runGraph(g, { m, all }, { x: xv });
    assertClose(r.m!, refReduce(asRef(xv), [0], false, "mean"));
    assertClose(r.all!, refReduce(asRef(xv), [0, 1], false, "mean"));
  });

  for (const [g, shape] of [[[2, 3, 4], [3, 1]], [[2, 3, 4], [4]], [[2, 3, 4], [2, 1, 4]], [[3, 4], []]] as [number[], number[]][]) {
    test(`sumToShape g=${fmt(g)} to ${fmt(shape)}`, async () => {
      const gv = randn(rng, g);
      // Reference: sum every g element into the broadcast-source position.
      const out = new Float64Array(shape.reduce((p, q) => p * q, 1));
      const lead = g.length - shape.length;
      gv.toNumbers().forEach((v, i) => {
        let rest = i, j = 0, mulr = 1;
        const idx: number[] = [];
        for (let k = g.length - 1; k >= 0; k--) { idx[k] = rest % g[k]!; rest = Math.floor(rest / g[k]!); }
        for (let k = shape.length - 1; k >= 0; k--) { j += (shape[k] === 1 ? 0 : idx[k + lead]!) * mulr; mulr *= shape[k]!; }
        out[j]! += v;
      });
      assertClose(await evaluate1((t) => sumToShape(t, shape), [gv]), { shape, data: out });
    });
  }
});

describe("reduce VJP", () => {
  const rng = new Rng(707);
  for (const kind of ["sum", "mean", "max"] as const) {
    for (let k = 0; k < 5; k++) {
      const shape = randShape(rng, 1 + rng.int(4), 1, 4);
      const axes = randAxes(rng, shape.length);
      const keep = k % 2 === 0;
      test(`${NAME[kind]} VJP x=${fmt(shape)} axes=${fmt(axes)} keepdims=${keep}`, async () => {
        const x = kind === "max" ? randDistinct(rng, [shape])[0]! : randn(rng, shape);
        await assertGradients((t) => OPS[kind](t, axes, keep), [x]);
      });
    }
  }

  test("reduceMax shares the cotangent between tied maxima", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, 4]);
    const [gx] = grad(reduceSum(reduceMax(x, [1])), [x]);
    const r = await runGraph(g, { gx: gx! }, { x: HostTensor.f32([1, 3, 3, 2, 5, 5, 5, 0], [2, 4]) });
    assertClose(r.gx!, [0, 0.5, 0.5, 0, 1 / 3, 1 / 3, 1 / 3, 0]);
  });

  test("sumToShape VJP g=[2,3,4] to [3,1]", async () => {
    await assertGradients((t) => sumToShape(t, [3, 1]), [randn(rng, [2, 3, 4])]);
  });
});

describe("reduce shape rules", () => {
  test("reduceSum axis 3 of a rank-3 tensor is a ShapeError", () => {
    const { xs: [x] } = symbolic([{ dtype: "float32", shape: [2, 3, 4] }]);
    assertThrowsFields(() => reduceSum(x!, [3]), ShapeError, { op: "reduceSum", expected: "[-3, 3)", got: "3" });
  });

  test("reduceMean with repeated axes [1,-2] is a ShapeError", () => {
    const { xs: [x] } = symbolic([{ dtype: "float32", shape: [2, 3, 4] }]);
    assertThrowsFields(() => reduceMean(x!, [1, -2]), ShapeError, { op: "reduceMean", expected: "distinct axes" });
  });

  test("reduceMax on bool is a DTypeError", () => {
    const { xs: [x] } = symbolic([{ dtype: "bool", shape: [2] }]);
    assertThrowsFields(() => reduceMax(x!), DTypeError, { op: "reduceMax", got: "bool" });
  });

  test("keepdims shapes: x=[B,3,4] axes=[1] -> [B,1,4] / [B,4]", () => {
    const { xs: [x] } = symbolic([{ dtype: "float32", shape: ["B", 3, 4] }]);
    assert.deepEqual([...reduceSum(x!, [1], true).shape], ["B", 1, 4]);
    assert.deepEqual([...reduceSum(x!, [1], false).shape], ["B", 4]);
  });
});
