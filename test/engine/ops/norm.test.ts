import { describe, test } from "node:test";
import { shapeSize } from "../../../src/engine/host-tensor.js";
import { DTypeError, ShapeError } from "../../../src/engine/errors.js";
import { groupNorm, layerNorm } from "../../../src/engine/ops/index.js";
import { Rng, assertClose, assertGradients, assertThrowsFields, evaluate1, fmt, randInt, randn, symbolic, type Ref } from "../helpers.js";

/** GroupNorm by hand: per (sample, group) mean and biased variance over the group's channels and all spatial positions. */
function refGroupNorm(x: Ref, scale: Ref, bias: Ref, groups: number, eps: number): Ref {
  const [n, c] = x.shape as [number, number];
  const spatial = shapeSize(x.shape.slice(2));
  const cg = c / groups;
  const out = new Float64Array(x.data.length);
  for (let b = 0; b < n; b++)
    for (let g = 0; g < groups; g++) {
      const start = (b * c + g * cg) * spatial, len = cg * spatial;
      let mean = 0;
      for (let i = 0; i < len; i++) mean += x.data[start + i]!;
      mean /= len;
      let v = 0;
      for (let i = 0; i < len; i++) v += (x.data[start + i]! - mean) ** 2;
      v /= len;
      for (let i = 0; i < len; i++) {
        const ch = g * cg + Math.floor(i / spatial);
        out[start + i] = ((x.data[start + i]! - mean) / Math.sqrt(v + eps)) * scale.data[ch]! + bias.data[ch]!;
      }
    }
  return { shape: x.shape, data: out };
}

/** LayerNorm by hand over the last axis. */
function refLayerNorm(x: Ref, scale: Ref, bias: Ref, eps: number): Ref {
  const d = x.shape[x.shape.length - 1]!;
  const out = new Float64Array(x.data.length);
  for (let r = 0; r < x.data.length / d; r++) {
    let mean = 0, v = 0;
    for (let i = 0; i < d; i++) mean += x.data[r * d + i]!;
    mean /= d;
    for (let i = 0; i < d; i++) v += (x.data[r * d + i]! - mean) ** 2;
    v /= d;
    for (let i = 0; i < d; i++) out[r * d + i] = ((x.data[r * d + i]! - mean) / Math.sqrt(v + eps)) * scale.data[i]! + bias.data[i]!;
  }
  return { shape: x.shape, data: out };
}

describe("groupNorm forward", () => {
  const rng = new Rng(1818);
  for (const [shape, groups] of [[[2, 4, 3, 3], 1], [[2, 4, 3, 3], 2], [[2, 4, 3, 3], 4], [[3, 6, 5], 3], [[1, 2, 2, 3, 2], 2]] as [number[], number][]) {
    test(`groupNorm x=${fmt(shape)} groups=${groups}`, async () => {
      const x = randn(rng, shape, 2), s = randn(rng, [shape[1]!]), b = randn(rng, [shape[1]!]);
      const y = await evaluate1((xt, st, bt) => groupNorm(xt, st, bt, groups, 1e-5), [x, s, b]);
      assertClose(y, refGroupNorm(x, s, b, groups, 1e-5), { rtol: 1e-4, atol: 1e-4 });
    });
  }

  test("groupNorm eps matters for a constant group x=[1,2,2,2]", async () => {
    const x = randn(rng, [1, 2, 2, 2], 0.001), s = randn(rng, [2]), b = randn(rng, [2]);
    const y = await evaluate1((xt, st, bt) => groupNorm(xt, st, bt, 1, 0.1), [x, s, b]);
    assertClose(y, refGroupNorm(x, s, b, 1, 0.1), { rtol: 1e-4, atol: 1e-5 });
  });
});

describe("layerNorm forward", () => {
  const rng = new Rng(1919);
  for (const shape of [[2, 3, 6], [4, 5], [7]]) {
    test(`layerNorm x=${fmt(shape)}`, async () => {
      const d = shape[shape.length - 1]!;
      const x = randn(rng, shape, 3), s = randn(rng, [d]), b = randn(rng, [d]);
      const y = await evaluate1((xt, st, bt) => layerNorm(xt, st, bt, 1e-5), [x, s, b]);
      assertClose(y, refLayerNorm(x, s, b, 1e-5), { rtol: 1e-4, atol: 1e-4 });
    });
  }
});

describe("norm VJP", () => {
  const rng = new Rng(2020);
  for (const which of ["1", "2", "C"] as const) {
    for (let k = 0; k < 2; k++) {
      const groups = which === "1" ? 1 : which === "2" ? 2 : randInt(rng, 2, 4);
      const c = which === "C" ? groups : groups * randInt(rng, 1, 3);
      const shape = [randInt(rng, 1, 2), c, randInt(rng, 2, 4), randInt(rng, 1, 4)];
      test(`groupNorm VJP x=${fmt(shape)} groups=${groups}${which === "C" ? " (=C)" : ""}`, async () => {
        await assertGradients((x, s, b) => groupNorm(x, s, b, groups, 1e-5), [randn(rng, shape), randn(rng, [c]), randn(rng, [c])]);
      });
    }
  }

  test("groupNorm VJP rank-3 x=[2,4,5] groups=2", async () => {
    await assertGradients((x, s, b) => groupNorm(x, s, b, 2, 1e-5), [randn(rng, [2, 4, 5]), randn(rng, [4]), randn(rng, [4])]);
  });

  for (let k = 0; k < 4; k++) {
    const shape = [...Array.from({ length: rng.int(3) }, () => randInt(rng, 1, 3)), randInt(rng, 2, 6)];
    const d = shape[shape.length - 1]!;
    test(`layerNorm VJP x=${fmt(shape)}`, async () => {
      await assertGradients((x, s, b) => layerNorm(x, s, b, 1e-5), [randn(rng, shape), randn(rng, [d]), randn(rng, [d])]);
    });
  }

  test("layerNorm VJP x=[7] (rank 1)", async () => {
    await assertGradients((x, s, b) => layerNorm(x, s, b, 1e-5), [randn(rng, [7]), randn(rng, [7]), randn(rng, [7])]);
  });
});

describe("norm shape rules", () => {
  const f32 = (...shapes: (number | string)[][]) => symbolic(shapes.map((shape) => ({ dtype: "float32" as const, shape }))).xs;

  test("groupNorm channels not divisible by groups x=[2,6,4,4] groups=4", () => {
    const [x, s, b] = f32([2, 6, 4, 4], [6], [6]);
    assertThrowsFields(() => groupNorm(x!, s!, b!, 4, 1e-5), ShapeError, { op: "groupNorm", expected: "divisible by 4", got: "[2, 6, 4, 4]" });
  });

  test("groupNorm scale of the wrong length", () => {
    const [x, s, b] = f32([2, 6, 4, 4], [3], [6]);
    assertThrowsFields(() => groupNorm(x!, s!, b!, 3, 1e-5), ShapeError, { op: "groupNorm", expected: "[6]", got: "[3]" });
  });

  test("groupNorm on rank 2 or a symbolic channel dim", () => {
    const [x2, s, b, xs] = f32([2, 6], [6], [6], [2, "C", 4]);
    assertThrowsFields(() => groupNorm(x2!, s!, b!, 3, 1e-5), ShapeError, { op: "groupNorm", got: "[2, 6]" });
    assertThrowsFields(() => groupNorm(xs!, s!, b!, 3, 1e-5), ShapeError, { op: "groupNorm", expected: "static C" });
  });

  test("layerNorm scale not matching the last axis", () => {
    const [x, s, b] = f32([2, 5], [4], [5]);
    assertThrowsFields(() => layerNorm(x!, s!, b!, 1e-5), ShapeError, { op: "layerNorm", expected: "[5]", got: "[4]" });
  });

  test("layerNorm float64 x with float32 scale is a DTypeError", () => {
    const { xs: [x, s] } = symbolic([{ dtype: "float64", shape: [2, 5] }, { dtype: "float32", shape: [5] }]);
    assertThrowsFields(() => layerNorm(x!, s!, s!, 1e-5), DTypeError, { op: "layerNorm" });
  });
});
