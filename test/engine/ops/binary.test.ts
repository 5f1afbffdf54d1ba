import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import type { Tensor } from "../../../src/engine/graph/tensor.js";
import { DTypeError, ShapeError } from "../../../src/engine/errors.js";
import { grad } from "../../../src/engine/autodiff/grad.js";
import { add, clamp, div, maximum, minimum, mod, mul, pow, reduceSum, square, sub } from "../../../src/engine/ops/index.js";
import {
  Rng, asRef, assertClose, assertEqualValues, assertGradients, assertThrowsFields, evaluate, evaluate1, fmt, randBroadcastPair,
  randDistinct, randn, randShape, randu, randAwayFromZero, refElementwise, runGraph, symbolic,
} from "../helpers.js";
import { Graph } from "../../../src/engine/graph/tensor.js";

type Bin = (a: Tensor, b: Tensor) => Tensor;
const OPS: Record<string, { f: Bin; ref: (a: number, b: number) => number }> = {
  add: { f: add, ref: (a, b) => a + b },
  sub: { f: sub, ref: (a, b) => a - b },
  mul: { f: mul, ref: (a, b) => a * b },
  div: { f: div, ref: (a, b) => a / b },
  pow: { f: pow, ref: (a, b) => a ** b },
  maximum: { f: maximum, ref: (a, b) => Math.max(a, b) },
  minimum: { f: minimum, ref: (a, b) => Math.min(a, b) },
};

/** Operands suited to each op: positive bases for pow, divisors away from 0, distinct values for max/min. */
function operands(rng: Rng, name: string, sa: number[], sb: number[]): [HostTensor, HostTensor] {
  switch (name) {
    case "div": return [randn(rng, sa), randAwayFromZero(rng, sb, 0.5)];
    case "pow": return [randu(rng, sa, 0.5, 2), randu(rng, sb, -1.5, 1.5)];
    case "maximum": case "minimum": return randDistinct(rng, [sa, sb]) as [HostTensor, HostTensor];
    default: return [randn(rng, sa), randn(rng, sb)];
  }
}

const FORWARD_SHAPES: [number[], number[]][] = [[[2, 1, 4], [3, 1]], [[3, 4], [4]], [[2, 3], []], [[1], [2, 3]], [[2, 3, 4], [2, 3, 4]]];

describe("binary forward", () => {
  const rng = new Rng(101);
  for (const [name, { f, ref }] of Object.entries(OPS)) {
    for (const [sa, sb] of FORWARD_SHAPES) {
      test(`${name} a=${fmt(sa)} b=${fmt(sb)}`, async () => {
        const [a, b] = operands(rng, name, sa, sb);
        const y = await evaluate1(f, [a, b]);
        assertClose(y, refElementwise([asRef(a), asRef(b)], ref), { rtol: 1e-5, atol: 1e-6 });
      });
    }
  }

  test("add int64 a=[2,3] b=[3]", async () => {
    const a = HostTensor.i64([1, -2, 3, 4, 5, -6], [2, 3]), b = HostTensor.i64([10, 20, 30]);
    assertEqualValues(await evaluate1(add, [a, b]), { shape: [2, 3], data: [11, 18, 33, 14, 25, 24] });
  });

  test("mod int64 follows the divisor's sign", async () => {
    const a = HostTensor.i64([7, -7, 7, -7, 9, 0]), b = HostTensor.i64([3, 3, -3, -3, 4, 5]);
    const expected = [7, -7, 7, -7, 9, 0].map((x, i) => { const d = [3, 3, -3, -3, 4, 5][i]!; return ((x % d) + d) % d; });
    assertEqualValues(await evaluate1(mod, [a, b]), { shape: [6], data: expected });
  });

  test("numbers lift to the tensor operand's dtype: 2 - x, x * 0.5, x / 4", async () => {
    const x = HostTensor.f32([1, 2, 3]);
    const [y1, y2, y3] = await evaluate((t) => [sub(2, t), mul(t, 0.5), div(t, 4)], [x]);
    assertClose(y1!, [1, 0, -1]);
    assertClose(y2!, [0.5, 1, 1.5]);
    assertClose(y3!, [0.25, 0.5, 0.75]);
    const i = await evaluate1((t) => add(t, 5), [HostTensor.i64([1, 2])]);
    assert.equal(i.dtype, "int64");
    assertEqualValues(i, { shape: [2], data: [6, 7] });
  });

  test("square and clamp x=[6]", async () => {
    const x = HostTensor.f32([-2, -0.5, 0, 0.3, 1.5, 3]);
    const [s, c] = await evaluate((t) => [square(t), clamp(t, -1, 1)], [x]);
    assertClose(s!, x.toNumbers().map((v) => v * v));
    assertClose(c!, x.toNumbers().map((v) => Math.min(Math.max(v, -1), 1)));
  });

  test("float64 add a=[2,2] b=[2]", async () => {
    const y = await evaluate1(add, [HostTensor.f64([1e-12, 2, 3, 4], [2, 2]), HostTensor.f64([1, 1])]);
    assert.equal(y.dtype, "float64");
    assert.equal(y.at(0), 1 + 1e-12);
  });
});

describe("binary VJP", () => {
  const rng = new Rng(202);
  for (const name of Object.keys(OPS)) {
    const f = OPS[name]!.f;
    const cases: [number[], number[]][] = [[[2, 1, 4], [3, 1]]];
    for (let k = 0; k < 3; k++) cases.push(randBroadcastPair(rng, randShape(rng, 1 + rng.int(3), 1, 4)));
    for (const [sa, sb] of cases) {
      test(`${name} VJP a=${fmt(sa)} b=${fmt(sb)}`, async () => {
        await assertGradients(f, operands(rng, name, sa, sb));
      });
    }
  }

  test("square VJP x=[3,4] (operand used twice)", async () => {
    await assertGradients(square, [randn(rng, [3, 4])]);
  });

  test("clamp VJP x=[4,5] away from the bounds", async () => {
    // -2.1, -1.9, ..., 1.7: every entry 0.1 away from the bounds +-1.
    const x = HostTensor.f32(Array.from({ length: 20 }, (_, i) => -2.1 + i * 0.2), [4, 5]);
    await assertGradients((t) => clamp(t, -1, 1), [x]);
  });

  test("maximum ties send the whole cotangent to the first operand, minimum's to the first too", async () => {
    const g = new Graph();
    const a = g.input("a", "float32", [3]), b = g.input("b", "float32", [3]);
    const [gaMax, gbMax] = grad(reduceSum(maximum(a, b)), [a, b]);
    const [gaMin, gbMin] = grad(reduceSum(minimum(a, b)), [a, b]);
    const feeds = { a: HostTensor.f32([1, 2, 3]), b: HostTensor.f32([1, 5, 0]) };
    const r = await runGraph(g, { gaMax: gaMax!, gbMax: gbMax!, gaMin: gaMin!, gbMin: gbMin! }, feeds);
    assertClose(r.gaMax!, [1, 0, 1]);
    assertClose(r.gbMax!, [0, 1, 0]);
    assertClose(r.gaMin!, [1, 1, 0]);
    assertClose(r.gbMin!, [0, 0, 1]);
  });
});

describe("binary shape and dtype rules", () => {
  test("add a=[2,3] b=[4] fails to broadcast", () => {
    const { xs: [a, b] } = symbolic([{ dtype: "float32", shape: [2, 3] }, { dtype: "float32", shape: [4] }]);
    assertThrowsFields(() => add(a!, b!), ShapeError, { op: "add", expected: "broadcast", got: ["[2, 3]", "[4]"] });
  });

  test("mul symbolic B broadcasts against 1 but not against 3", () => {
    const { xs: [a, b, c] } = symbolic([{ dtype: "float32", shape: ["B", 3] }, { dtype: "float32", shape: [1, 3] }, { dtype: "float32", shape: [3, 3] }]);
    assert.deepEqual([...mul(a!, b!).shape], ["B", 3]);
    assertThrowsFields(() => mul(a!, c!), ShapeError, { op: "mul", got: "[B, 3]" });
  });

  test("add(float32, int64) is a DTypeError naming both dtypes", () => {
    const { xs: [a, b] } = symbolic([{ dtype: "float32", shape: [2] }, { dtype: "int64", shape: [2] }]);
    assertThrowsFields(() => add(a!, b!), DTypeError, { op: "add", got: ["float32", "int64"] });
  });

  test("pow on int64 and mod on float32 are DTypeErrors", () => {
    const { xs: [i, f] } = symbolic([{ dtype: "int64", shape: [2] }, { dtype: "float32", shape: [2] }]);
    assertThrowsFields(() => pow(i!, i!), DTypeError, { op: "pow", got: "int64" });
    assertThrowsFields(() => mod(f!, f!), DTypeError, { op: "mod", got: "float32" });
  });

  test("bool operands are refused by add", () => {
    const { xs: [b] } = symbolic([{ dtype: "bool", shape: [2] }]);
    assertThrowsFields(() => add(b!, b!), DTypeError, { op: "add", got: "bool" });
  });
});
