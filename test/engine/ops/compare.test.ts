import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import type { Tensor } from "../../../src/engine/graph/tensor.js";
import { DTypeError, ShapeError } from "../../../src/engine/errors.js";
import { and, equal, greater, greaterOrEqual, less, lessOrEqual, not, or, where } from "../../../src/engine/ops/index.js";
import type { Operand } from "../../../src/engine/ops/index.js";
import {
  Rng, asRef, assertClose, assertEqualValues, assertGradients, assertThrowsFields, evaluate1, fmt, randBroadcastPair, randn, randShape,
  refElementwise, symbolic,
} from "../helpers.js";

const CMP: Record<string, { f: (a: Operand, b: Operand) => Tensor; ref: (a: number, b: number) => boolean }> = {
  greater: { f: greater, ref: (a, b) => a > b },
  less: { f: less, ref: (a, b) => a < b },
  greaterOrEqual: { f: greaterOrEqual, ref: (a, b) => a >= b },
  lessOrEqual: { f: lessOrEqual, ref: (a, b) => a <= b },
  equal: { f: equal, ref: (a, b) => a === b },
};

const bools = (v: readonly number[], shape: readonly number[] = [v.length]) => new HostTensor("bool", shape, Uint8Array.from(v));

describe("comparisons", () => {
  // Small integers make ties (and so >= vs > and equal) actually occur.
  const a = HostTensor.f32([0, 1, 2, 1, 0, 2, 1, 1], [2, 1, 4]);
  const b = HostTensor.f32([1, 2, 0], [3, 1]);
  for (const [name, { f, ref }] of Object.entries(CMP)) {
    test(`${name} float32 a=[2,1,4] b=[3,1]`, async () => {
      const y = await evaluate1((x, z) => f(x, z), [a, b]);
      assert.equal(y.dtype, "bool");
      assertEqualValues(y, refElementwise([asRef(a), asRef(b)], (p, q) => (ref(p, q) ? 1 : 0)));
    });
    test(`${name} int64 against a lifted number`, async () => {
      const x = HostTensor.i64([-2, 0, 3, 3, 7]);
      assertEqualValues(await evaluate1((t) => f(t, 3), [x]), { shape: [5], data: x.toNumbers().map((v) => (ref(v, 3) ? 1 : 0)) });
    });
  }

  test("and, or, not, equal on bool [2,3] with [3]", async () => {
    const p = bools([1, 0, 1, 0, 0, 1], [2, 3]), q = bools([1, 1, 0]);
    assertEqualValues(await evaluate1(and, [p, q]), { shape: [2, 3], data: [1, 0, 0, 0, 0, 0] });
    assertEqualValues(await evaluate1(or, [p, q]), { shape: [2, 3], data: [1, 1, 1, 1, 1, 1] });
    assertEqualValues(await evaluate1(equal, [p, q]), { shape: [2, 3], data: [1, 0, 0, 0, 0, 0] });
    assertEqualValues(await evaluate1(not, [p]), { shape: [2, 3], data: [0, 1, 0, 1, 1, 0] });
  });

  test("greater a=[2,3] b=[2] fails to broadcast", () => {
    const { xs: [x, y] } = symbolic([{ dtype: "float32", shape: [2, 3] }, { dtype: "float32", shape: [2] }]);
    assertThrowsFields(() => greater(x!, y!), ShapeError, { op: "greater", got: ["[2, 3]", "[2]"] });
  });

  test("and on float32 and less on bool are DTypeErrors", () => {
    const { xs: [f, b] } = symbolic([{ dtype: "float32", shape: [2] }, { dtype: "bool", shape: [2] }]);
    assertThrowsFields(() => and(f!, f!), DTypeError, { op: "and", got: "float32" });
    assertThrowsFields(() => less(b!, b!), DTypeError, { op: "less", got: "bool" });
    assertThrowsFields(() => not(f!), DTypeError, { op: "not", got: "float32" });
  });
});

describe("where", () => {
  const rng = new Rng(505);

  test("where c=[3,1] a=[1,4] b=scalar 0.5", async () => {
    const c = bools([1, 0, 1], [3, 1]), a = randn(rng, [1, 4]);
    const y = await evaluate1((ct, at) => where(ct, at, 0.5), [c, a]);
    assertClose(y, refElementwise([asRef(c), asRef(a)], (p, q) => (p ? q : 0.5)));
  });

  test("where int64 c=[2,2] a=[2,2] b=[2]", async () => {
    const c = bools([1, 0, 0, 1], [2, 2]), a = HostTensor.i64([1, 2, 3, 4], [2, 2]), b = HostTensor.i64([-1, -2]);
    assertEqualValues(await evaluate1(where, [c, a, b]), { shape: [2, 2], data: [1, -2, -1, 4] });
  });

  for (let k = 0; k < 4; k++) {
    const out = randShape(rng, 1 + rng.int(3), 1, 4);
    const [sa, sb] = randBroadcastPair(rng, out);
    const sc = randBroadcastPair(rng, out)[0];
    test(`where VJP c=${fmt(sc)} a=${fmt(sa)} b=${fmt(sb)}`, async () => {
      const c = bools(Array.from({ length: sc.reduce((p, q) => p * q, 1) }, () => rng.int(2)), sc);
      await assertGradients((ct, at, bt) => where(ct, at, bt), [c, randn(rng, sa), randn(rng, sb)]);
    });
  }

  test("where with a float32 condition is a DTypeError", () => {
    const { xs: [f] } = symbolic([{ dtype: "float32", shape: [2] }]);
    assertThrowsFields(() => where(f!, f!, f!), DTypeError, { op: "where", expected: "bool", got: "float32" });
  });

  test("where with mixed branch dtypes is a DTypeError", () => {
    const { xs: [c, f, i] } = symbolic([{ dtype: "bool", shape: [2] }, { dtype: "float32", shape: [2] }, { dtype: "int64", shape: [2] }]);
    assertThrowsFields(() => where(c!, f!, i!), DTypeError, { op: "where", got: ["float32", "int64"] });
  });

  test("where c=[3] a=[2] fails to broadcast", () => {
    const { xs: [c, a] } = symbolic([{ dtype: "bool", shape: [3] }, { dtype: "float32", shape: [2] }]);
    assertThrowsFields(() => where(c!, a!, 0), ShapeError, { op: "where" });
  });
});
