import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DTypeError, ShapeError } from "../../../src/engine/errors.js";
import { maxPool, type PoolAttrs } from "../../../src/engine/ops/index.js";
import { Rng, assertClose, assertGradients, assertThrowsFields, evaluate1, fmt, randDistinct, randInt, randn, symbolic, type Ref } from "../helpers.js";

/** Max over each window; padded positions never win. */
function refMaxPool(x: Ref, a: PoolAttrs): Ref {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [kh, kw] = a.kernel, [sh, sw] = a.strides, [pt, pl, pb, pr] = a.pads;
  const ho = Math.floor((h + pt + pb - kh) / sh) + 1, wo = Math.floor((w + pl + pr - kw) / sw) + 1;
  const out = new Float64Array(n * c * ho * wo);
  for (let p = 0; p < n * c; p++)
    for (let i = 0; i < ho; i++)
      for (let j = 0; j < wo; j++) {
        let m = -Infinity;
        for (let u = 0; u < kh; u++)
          for (let v = 0; v < kw; v++) {
            const y = i * sh + u - pt, z = j * sw + v - pl;
            if (y >= 0 && y < h && z >= 0 && z < w) m = Math.max(m, x.data[(p * h + y) * w + z]!);
          }
        out[(p * ho + i) * wo + j] = m;
      }
  return { shape: [n, c, ho, wo], data: out };
}

const pool = (k: number | [number, number], s: number | [number, number], pads: [number, number, number, number] = [0, 0, 0, 0]): PoolAttrs => ({
  kernel: typeof k === "number" ? [k, k] : k, strides: typeof s === "number" ? [s, s] : s, pads,
});
const label = (a: PoolAttrs) => `k=${fmt(a.kernel)} s=${fmt(a.strides)} pads=${fmt(a.pads)}`;

const CASES: [number[], PoolAttrs][] = [
  [[1, 2, 4, 4], pool(2, 2)], [[2, 1, 5, 5], pool(3, 2, [1, 1, 1, 1])], [[1, 2, 4, 5], pool(3, 1)], [[1, 1, 4, 4], pool(2, 1, [0, 0, 1, 1])], [[1, 2, 5, 7], pool([2, 3], [1, 2])],
];

describe("maxPool", () => {
  const rng = new Rng(2626);
  for (const [shape, a] of CASES) {
    test(`maxPool x=${fmt(shape)} ${label(a)}`, async () => {
      const x = randn(rng, shape);
      assertClose(await evaluate1((t) => maxPool(t, a), [x]), refMaxPool(x, a), { rtol: 0, atol: 0 });
    });
  }

  for (const [, a] of CASES) {
    for (let k = 0; k < 2; k++) {
      const shape = [randInt(rng, 1, 2), randInt(rng, 1, 3), randInt(rng, a.kernel[0] + 1, 6), randInt(rng, a.kernel[1] + 1, 6)];
      test(`maxPool VJP x=${fmt(shape)} ${label(a)}`, async () => {
        await assertGradients((t) => maxPool(t, a), randDistinct(rng, [shape]));
      });
    }
  }

  test("maxPool keeps a symbolic batch x=[B,3,8,8] k=2 s=2 -> [B,3,4,4]", () => {
    const { xs: [x] } = symbolic([{ dtype: "float32", shape: ["B", 3, 8, 8] }]);
    assert.deepEqual([...maxPool(x!, pool(2, 2)).shape], ["B", 3, 4, 4]);
  });

  test("maxPool of a rank-3 tensor is a ShapeError; int64 a DTypeError", () => {
    const { xs: [x3, xi] } = symbolic([{ dtype: "float32", shape: [1, 4, 4] }, { dtype: "int64", shape: [1, 1, 4, 4] }]);
    assertThrowsFields(() => maxPool(x3!, pool(2, 2)), ShapeError, { op: "maxPool", got: "[1, 4, 4]" });
    assertThrowsFields(() => maxPool(xi!, pool(2, 2)), DTypeError, { op: "maxPool", got: "int64" });
  });

});
