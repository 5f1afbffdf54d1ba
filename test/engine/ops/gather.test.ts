import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor, shapeSize } from "../../../src/engine/host-tensor.js";
import { DTypeError, ShapeError } from "../../../src/engine/errors.js";
import { gather, gatherElements, scatterAdd, scatterElementsAdd } from "../../../src/engine/ops/index.js";
import {
  Rng, assertClose, assertGradients, assertThrowsFields, evaluate1, fmt, randIndex, randInt, randn, ravel, symbolic, unravel, type Ref,
} from "../helpers.js";

/** data.take(idx, axis). */
function refGather(data: Ref, idx: HostTensor, axis: number): Ref {
  const ax = axis < 0 ? axis + data.shape.length : axis;
  const shape = [...data.shape.slice(0, ax), ...idx.shape, ...data.shape.slice(ax + 1)];
  const out = Array.from({ length: shapeSize(shape) }, (_, i) => {
    const o = unravel(i, shape);
    const ii = ravel(o.slice(ax, ax + idx.shape.length), idx.shape);
    const src = [...o.slice(0, ax), idx.at(ii), ...o.slice(ax + idx.shape.length)];
    return data.data[ravel(src, data.shape)]!;
  });
  return { shape, data: out };
}

/** Zeros shaped `like` with updates added at idx along axis (the adjoint of refGather). */
function refScatterAdd(updates: Ref, idx: HostTensor, like: readonly number[], axis: number): Ref {
  const out = new Float64Array(shapeSize(like));
  for (let i = 0; i < updates.data.length; i++) {
    const u = unravel(i, updates.shape);
    const ii = ravel(u.slice(axis, axis + idx.shape.length), idx.shape);
    out[ravel([...u.slice(0, axis), idx.at(ii), ...u.slice(axis + idx.shape.length)], like)]! += updates.data[i]!;
  }
  return { shape: like, data: out };
}

function refGatherElements(data: Ref, idx: HostTensor, axis: number): Ref {
  const out = Array.from({ length: idx.size }, (_, i) => {
    const o = unravel(i, idx.shape);
    o[axis] = idx.at(i);
    return data.data[ravel(o, data.shape)]!;
  });
  return { shape: idx.shape, data: out };
}

function refScatterElementsAdd(data: Ref, idx: HostTensor, updates: Ref, axis: number): Ref {
  const out = Float64Array.from(data.data);
  for (let i = 0; i < idx.size; i++) {
    const o = unravel(i, idx.shape);
    o[axis] = idx.at(i);
    out[ravel(o, data.shape)]! += updates.data[i]!;
  }
  return { shape: data.shape, data: out };
}

describe("gather forward", () => {
  const rng = new Rng(2323);
  const cases: [number[], number[], number][] = [[[5, 3], [2, 3], 0], [[2, 5, 3], [4], 1], [[2, 5, 3], [2, 2], 1], [[2, 5], [3], -1], [[4], [6], 0]];
  for (const [ds, is, axis] of cases) {
    test(`gather data=${fmt(ds)} indices=${fmt(is)} (int64) axis=${axis}`, async () => {
      const data = randn(rng, ds), idx = randIndex(rng, is, ds.at(axis)!);
      assertClose(await evaluate1((d, i) => gather(d, i, axis), [data, idx]), refGather(data, idx, axis), { rtol: 0, atol: 0 });
    });
  }

  test("gather with int32 indices data=[4,2] indices=[3]", async () => {
    const data = randn(rng, [4, 2]), idx = new HostTensor("int32", [3], Int32Array.from([3, 0, 3]));
    assertClose(await evaluate1((d, i) => gather(d, i, 0), [data, idx]), refGather(data, idx, 0), { rtol: 0, atol: 0 });
  });

  const scatterCases: [number[], number[], number][] = [[[5, 3], [6], 0], [[2, 4, 3], [2, 3], 1], [[3, 4], [5], 1]];
  for (const [like, is, axis] of scatterCases) {
    const us = [...like.slice(0, axis), ...is, ...like.slice(axis + 1)];
    test(`scatterAdd updates=${fmt(us)} indices=${fmt(is)} like=${fmt(like)} axis=${axis} (duplicates add)`, async () => {
      const u = randn(rng, us), idx = randIndex(rng, is, like[axis]!);
      const y = await evaluate1((ut, it, lt) => scatterAdd(ut, it, lt, axis), [u, idx, HostTensor.zeros("float32", like)]);
      assertClose(y, refScatterAdd(u, idx, like, axis), { rtol: 1e-5, atol: 1e-6 });
    });
  }

  test("scatterAdd takes only the shape of like: float32 updates into an int64 like=[3,2]", async () => {
    const u = HostTensor.f32([1.5, 2, -1, 4], [2, 2]), idx = HostTensor.i64([2, 2]);
    const y = await evaluate1((ut, it, lt) => scatterAdd(ut, it, lt, 0), [u, idx, HostTensor.i64([0, 0, 0, 0, 0, 0], [3, 2])]);
    assert.equal(y.dtype, "float32");
    assertClose(y, { shape: [3, 2], data: [0, 0, 0, 0, 0.5, 6] });
  });

  for (const [ds, is, axis] of [[[3, 4], [3, 2], 1], [[3, 4], [5, 4], 0], [[2, 3, 4], [2, 3, 2], 2]] as [number[], number[], number][]) {
    test(`gatherElements data=${fmt(ds)} indices=${fmt(is)} axis=${axis}`, async () => {
      const data = randn(rng, ds), idx = randIndex(rng, is, ds[axis]!);
      assertClose(await evaluate1((d, i) => gatherElements(d, i, axis), [data, idx]), refGatherElements(data, idx, axis), { rtol: 0, atol: 0 });
    });
    test(`scatterElementsAdd data=${fmt(ds)} indices=${fmt(is)} axis=${axis}`, async () => {
      const data = randn(rng, ds), idx = randIndex(rng, is, ds[axis]!), u = randn(rng, is);
      const y = await evaluate1((d, i, ut) => scatterElementsAdd(d, i, ut, axis), [data, idx, u]);
      assertClose(y, refScatterElementsAdd(data, idx, u, axis), { rtol: 1e-5, atol: 1e-6 });
    });
  }
});

describe("gather VJP", () => {
  const rng = new Rng(2424);
  for (const axis of [0, 1]) {
    for (let k = 0; k < 3; k++) {
      const ds = [randInt(rng, 2, 5), randInt(rng, 2, 5), ...(rng.uniform() < 0.5 ? [randInt(rng, 1, 3)] : [])];
      const is = rng.uniform() < 0.5 ? [randInt(rng, 1, 6)] : [randInt(rng, 1, 3), randInt(rng, 1, 3)];
      test(`gather VJP data=${fmt(ds)} indices=${fmt(is)} (int64) axis=${axis}`, async () => {
        await assertGradients((d, i) => gather(d, i, axis), [randn(rng, ds), randIndex(rng, is, ds[axis]!)]);
      });
    }
  }

  for (let k = 0; k < 3; k++) {
    const like = [randInt(rng, 2, 5), randInt(rng, 1, 4)];
    const axis = rng.int(2);
    const is = [randInt(rng, 1, 6)];
    const us = axis === 0 ? [is[0]!, like[1]!] : [like[0]!, is[0]!];
    test(`scatterAdd VJP updates=${fmt(us)} indices=${fmt(is)} like=${fmt(like)} axis=${axis}`, async () => {
      await assertGradients((u, i, l) => scatterAdd(u, i, l, axis), [randn(rng, us), randIndex(rng, is, like[axis]!), HostTensor.i64(new Array(shapeSize(like)).fill(0), like)]);
    });
  }

  for (let k = 0; k < 4; k++) {
    const ds = [randInt(rng, 2, 4), randInt(rng, 2, 5)];
    const axis = k % 2;
    const is = [...ds];
    is[axis] = randInt(rng, 1, 6);
    test(`gatherElements VJP data=${fmt(ds)} indices=${fmt(is)} axis=${axis}`, async () => {
      await assertGradients((d, i) => gatherElements(d, i, axis), [randn(rng, ds), randIndex(rng, is, ds[axis]!)]);
    });
    test(`scatterElementsAdd VJP data=${fmt(ds)} indices=${fmt(is)} axis=${axis}`, async () => {
      await assertGradients((d, i, u) => scatterElementsAdd(d, i, u, axis), [randn(rng, ds), randIndex(rng, is, ds[axis]!), randn(rng, is)]);
    });
  }
});

describe("gather shape rules", () => {
  test("gather with float32 indices is a DTypeError", () => {
    const { xs: [d, i] } = symbolic([{ dtype: "float32", shape: [5, 3] }, { dtype: "float32", shape: [2] }]);
    assertThrowsFields(() => gather(d!, i!, 0), DTypeError, { op: "gather", expected: "int64", got: "float32" });
  });

  test("gather axis 2 of a rank-2 tensor is a ShapeError", () => {
    const { xs: [d, i] } = symbolic([{ dtype: "float32", shape: [5, 3] }, { dtype: "int64", shape: [2] }]);
    assertThrowsFields(() => gather(d!, i!, 2), ShapeError, { op: "gather", got: "2" });
  });

  test("gatherElements with indices of another rank", () => {
    const { xs: [d, i] } = symbolic([{ dtype: "float32", shape: [5, 3] }, { dtype: "int64", shape: [5] }]);
    assertThrowsFields(() => gatherElements(d!, i!, 0), ShapeError, { op: "gatherElements", expected: "rank 2", got: "[5]" });
  });

  test("scatterAdd with updates of the wrong shape", () => {
    const { xs: [u, i, l] } = symbolic([{ dtype: "float32", shape: [3, 4] }, { dtype: "int64", shape: [3] }, { dtype: "float32", shape: [5, 3] }]);
    assertThrowsFields(() => scatterAdd(u!, i!, l!, 0), ShapeError, { op: "scatterAdd", expected: "[3, 3]", got: "[3, 4]" });
  });
});
