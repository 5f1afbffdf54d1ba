import { describe, test } from "node:test";
import { DTypeError, ShapeError } from "../../../src/engine/errors.js";
import { matmul } from "../../../src/engine/ops/index.js";
import { shapeSize } from "../../../src/engine/host-tensor.js";
import {
  Rng, assertClose, assertGradients, assertThrowsFields, broadcastIndex, broadcastShape, evaluate1, fmt, randInt, randn, symbolic, unravel, type Ref,
} from "../helpers.js";

/** Reference batched matmul with broadcasting over leading dims. */
function refMatmul(a: Ref, b: Ref): Ref {
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.shape.length - 1]!;
  const batchA = a.shape.slice(0, -2), batchB = b.shape.slice(0, -2);
  const batch = broadcastShape(batchA, batchB);
  const nb = shapeSize(batch);
  const out = new Float64Array(nb * m * n);
  for (let t = 0; t < nb; t++) {
    const idx = unravel(t, batch);
    const ia = batchA.length ? broadcastIndex(idx, batchA) : 0, ib = batchB.length ? broadcastIndex(idx, batchB) : 0;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a.data[(ia * m + i) * k + p]! * b.data[(ib * k + p) * n + j]!;
        out[(t * m + i) * n + j] = s;
      }
  }
  return { shape: [...batch, m, n], data: out };
}

const CASES: [number[], number[]][] = [
  [[3, 4], [4, 5]], [[2, 3, 4], [2, 4, 5]], [[2, 3, 4], [4, 5]], [[3, 4], [2, 4, 5]], [[2, 1, 3, 4], [3, 4, 2]], [[1, 1], [1, 1]],
];

describe("matmul forward", () => {
  const rng = new Rng(1111);
  for (const [sa, sb] of CASES) {
    test(`matmul a=${fmt(sa)} b=${fmt(sb)}`, async () => {
      const a = randn(rng, sa), b = randn(rng, sb);
      assertClose(await evaluate1(matmul, [a, b]), refMatmul(a, b), { rtol: 1e-5, atol: 1e-5 });
    });
  }
});

describe("matmul VJP", () => {
  const rng = new Rng(1212);
  for (let t = 0; t < 7; t++) {
    const m = randInt(rng, 1, 4), k = randInt(rng, 1, 5), n = randInt(rng, 1, 4), bt = randInt(rng, 1, 3);
    const variants: [number[], number[]][] = [[[m, k], [k, n]], [[bt, m, k], [k, n]], [[m, k], [bt, k, n]], [[bt, 1, m, k], [2, k, n]], [[1, m, k], [bt, k, n]], [[bt, m, k], [bt, k, n]], [[2, bt, m, k], [k, n]]];
    const [sa, sb] = variants[t]!;
    test(`matmul VJP a=${fmt(sa)} b=${fmt(sb)}`, async () => {
      await assertGradients(matmul, [randn(rng, sa), randn(rng, sb)]);
    });
  }
});

describe("matmul shape rules", () => {
  test("matmul inner-dim mismatch a=[2,3] b=[4,5] names both shapes", () => {
    const { xs: [a, b] } = symbolic([{ dtype: "float32", shape: [2, 3] }, { dtype: "float32", shape: [4, 5] }]);
    assertThrowsFields(() => matmul(a!, b!), ShapeError, { op: "matmul", expected: "inner dimensions", got: ["[2, 3]", "[4, 5]", "3 vs 4"] });
  });

  test("matmul of a rank-1 operand is a ShapeError", () => {
    const { xs: [a, b] } = symbolic([{ dtype: "float32", shape: [3] }, { dtype: "float32", shape: [3, 2] }]);
    assertThrowsFields(() => matmul(a!, b!), ShapeError, { op: "matmul", expected: "rank >= 2", got: "[3]" });
  });

  test("matmul batch dims that do not broadcast a=[2,3,4] b=[3,4,5]", () => {
    const { xs: [a, b] } = symbolic([{ dtype: "float32", shape: [2, 3, 4] }, { dtype: "float32", shape: [3, 4, 5] }]);
    assertThrowsFields(() => matmul(a!, b!), ShapeError, { op: "matmul", got: ["[2]", "[3]"] });
  });

  test("matmul on int64 is a DTypeError", () => {
    const { xs: [a] } = symbolic([{ dtype: "int64", shape: [2, 2] }]);
    assertThrowsFields(() => matmul(a!, a!), DTypeError, { op: "matmul", got: "int64" });
  });
});
