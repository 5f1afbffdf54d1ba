import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { shapeSize } from "../../../src/engine/host-tensor.js";
import { DTypeError, ShapeError } from "../../../src/engine/errors.js";
import { upsampleNearest } from "../../../src/engine/ops/index.js";
import { Rng, assertClose, assertGradients, assertThrowsFields, evaluate1, fmt, randInt, randn, ravel, symbolic, unravel, type Ref } from "../helpers.js";

function refUpsample(x: Ref, f: number): Ref {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const shape = [n, c, h * f, w * f];
  const data = Array.from({ length: shapeSize(shape) }, (_, i) => {
    const [b, ch, y, z] = unravel(i, shape) as [number, number, number, number];
    return x.data[ravel([b, ch, Math.floor(y / f), Math.floor(z / f)], x.shape)]!;
  });
  return { shape, data };
}

describe("upsampleNearest", () => {
  const rng = new Rng(2525);
  for (const [shape, f] of [[[1, 2, 3, 4], 2], [[2, 1, 2, 3], 3], [[1, 1, 1, 1], 2]] as [number[], number][]) {
    test(`upsampleNearest x=${fmt(shape)} factor=${f}`, async () => {
      const x = randn(rng, shape);
      assertClose(await evaluate1((t) => upsampleNearest(t, f), [x]), refUpsample(x, f), { rtol: 0, atol: 0 });
    });
  }

  for (let k = 0; k < 3; k++) {
    const shape = [randInt(rng, 1, 2), randInt(rng, 1, 3), randInt(rng, 1, 4), randInt(rng, 1, 4)];
    const f = randInt(rng, 2, 3);
    test(`upsampleNearest VJP x=${fmt(shape)} factor=${f}`, async () => {
      await assertGradients((t) => upsampleNearest(t, f), [randn(rng, shape)]);
    });
  }

  test("upsampleNearest keeps a symbolic batch x=[B,2,3,3] -> [B,2,6,6]", () => {
    const { xs: [x] } = symbolic([{ dtype: "float32", shape: ["B", 2, 3, 3] }]);
    assert.deepEqual([...upsampleNearest(x!).shape], ["B", 2, 6, 6]);
  });

  test("upsampleNearest of a rank-3 tensor or symbolic H is a ShapeError; int64 a DTypeError", () => {
    const { xs: [x3, xh, xi] } = symbolic([{ dtype: "float32", shape: [1, 2, 3] }, { dtype: "float32", shape: [1, 2, "H", 3] }, { dtype: "int64", shape: [1, 1, 2, 2] }]);
    assertThrowsFields(() => upsampleNearest(x3!), ShapeError, { op: "upsampleNearest", got: "[1, 2, 3]" });
    assertThrowsFields(() => upsampleNearest(xh!), ShapeError, { op: "upsampleNearest", got: "[1, 2, H, 3]" });
    assertThrowsFields(() => upsampleNearest(xi!), DTypeError, { op: "upsampleNearest", got: "int64" });
  });
});
