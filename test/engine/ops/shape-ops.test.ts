import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor, shapeSize } from "../../../src/engine/host-tensor.js";
import { Graph, type Tensor } from "../../../src/engine/graph/tensor.js";
import { MissingRuleError, ShapeError, DTypeError } from "../../../src/engine/errors.js";
import { grad } from "../../../src/engine/autodiff/grad.js";
import {
  add, concat, expand, expandLike, mul, pad, reduceSum, reshape, reshapeLike, shapeCount, slice, split, squeeze, transpose, transposeLast2, unsqueeze,
} from "../../../src/engine/ops/index.js";
import { CompiledGraph } from "../../../src/engine/runtime/session.js";
import {
  Rng, asRef, assertClose, assertGradients, assertThrowsFields, evaluate, evaluate1, fmt, randn, randShape, ravel, refElementwise, refTranspose,
  runGraph, symbolic, unravel, type Ref,
} from "../helpers.js";

const iota = (shape: number[]) => HostTensor.f32(Array.from({ length: shapeSize(shape) }, (_, i) => i), shape);

/** Reference slice (step 1) with numpy clamping. */
function refSlice(x: Ref, axes: number[], starts: number[], ends: number[]): Ref {
  const r = x.shape.length;
  const lo = x.shape.map(() => 0), hi = [...x.shape];
  axes.forEach((a0, k) => {
    const a = a0 < 0 ? a0 + r : a0, n = x.shape[a]!;
    const c = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    lo[a] = c(starts[k]!);
    hi[a] = Math.max(c(ends[k]!), lo[a]!);
  });
  const shape = hi.map((h, i) => h - lo[i]!);
  const data = Array.from({ length: shapeSize(shape) }, (_, i) => x.data[ravel(unravel(i, shape).map((v, k) => v + lo[k]!), x.shape)]!);
  return { shape, data };
}

/** Reference pad in constant / reflect / edge mode; negative pads crop. */
function refPad(x: Ref, pads: number[], mode: "constant" | "reflect" | "edge", value = 0): Ref {
  const r = x.shape.length;
  const shape = x.shape.map((d, i) => d + pads[i]! + pads[i + r]!);
  const data = Array.from({ length: shapeSize(shape) }, (_, i) => {
    const src = unravel(i, shape).map((v, k) => v - pads[k]!);
    let inside = true;
    const fixed = src.map((s, k) => {
      const n = x.shape[k]!;
      if (s >= 0 && s < n) return s;
      inside = false;
      if (mode === "edge") return Math.min(Math.max(s, 0), n - 1);
      if (mode === "reflect") { let t = s; while (t < 0 || t >= n) t = t < 0 ? -t : 2 * (n - 1) - t; return t; }
      return 0;
    });
    return !inside && mode === "constant" ? value : x.data[ravel(fixed, x.shape)]!;
  });
  return { shape, data };
}

describe("shape ops forward", () => {
  const rng = new Rng(808);

  test("reshape x=[2,3,4] to [4,-1] and [24]", async () => {
    const x = iota([2, 3, 4]);
    const [a, b] = await evaluate((t) => [reshape(t, [4, -1]), reshape(t, [24])], [x]);
    assertClose(a!, { shape: [4, 6], data: x.toNumbers() });
    assertClose(b!, { shape: [24], data: x.toNumbers() });
  });

  test("reshape x=[B,3,4] to [B,-1] and [-1,4] runs for B=2", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", ["B", 3, 4]);
    const a = reshape(x, ["B", -1]), b = reshape(x, [-1, 4]);
    assert.deepEqual([...a.shape], ["B", 12]);
    assert.deepEqual([...b.shape], ["B*3", 4]);
    const r = await runGraph(g, { a, b }, { x: iota([2, 3, 4]) });
    assertClose(r.a!, { shape: [2, 12], data: iota([24]).toNumbers() });
    assertClose(r.b!, { shape: [6, 4], data: iota([24]).toNumbers() });
  });

  test("reshape splits a merged symbol again: [2,B,3] -> [-1,3] -> [2,-1,3] runs for B=4", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, "B", 3]);
    const merged = reshape(x, [-1, 3]);
    const split = reshape(merged, [2, -1, 3]), named = reshape(merged, [2, "B", 3]);
    assert.deepEqual([...merged.shape], ["B*2", 3]);
    assert.deepEqual([...split.shape], [2, "B", 3]);
    assert.deepEqual([...named.shape], [2, "B", 3]);
    assertThrowsFields(() => reshape(merged, [4, -1, 3]), ShapeError, { op: "reshape", expected: "a target dividing" });
    const r = await runGraph(g, { merged, split, named }, { x: iota([2, 4, 3]) });
    assertClose(r.merged!, { shape: [8, 3], data: iota([24]).toNumbers() });
    assertClose(r.split!, { shape: [2, 4, 3], data: iota([24]).toNumbers() });
    assertClose(r.named!, { shape: [2, 4, 3], data: iota([24]).toNumbers() });
  });

  test("reshapeLike x=[6] like=[2,3]", async () => {
    const y = await evaluate1((t, l) => reshapeLike(t, l), [iota([6]), HostTensor.zeros("float32", [2, 3])]);
    assertClose(y, { shape: [2, 3], data: [0, 1, 2, 3, 4, 5] });
  });

  for (const perm of [[1, 0, 2], [2, 0, 1], [0, 2, 1], [2, 1, 0]]) {
    test(`transpose x=[2,3,4] perm=${fmt(perm)}`, async () => {
      const x = randn(rng, [2, 3, 4]);
      assertClose(await evaluate1((t) => transpose(t, perm), [x]), refTranspose(asRef(x), perm));
    });
  }

  test("transposeLast2 x=[2,3,4]", async () => {
    const x = randn(rng, [2, 3, 4]);
    assertClose(await evaluate1(transposeLast2, [x]), refTranspose(asRef(x), [0, 2, 1]));
  });

  test("unsqueeze x=[2,3] axes=[0,-1] -> [1,2,3,1]; squeeze back", async () => {
    const x = randn(rng, [2, 3]);
    const [u, s] = await evaluate((t) => { const u = unsqueeze(t, [0, -1]); return [u, squeeze(u, [3, 0])]; }, [x]);
    assertClose(u!, { shape: [1, 2, 3, 1], data: x.toNumbers() });
    assertClose(s!, asRef(x));
  });

  test("unsqueeze x=[2,3] axes=[1,3] -> [2,1,3,1]", async () => {
    const y = await evaluate1((t) => unsqueeze(t, [1, 3]), [iota([2, 3])]);
    assert.deepEqual([...y.shape], [2, 1, 3, 1]);
  });

  test("expand x=[3,1] to [2,3,4]; expandLike", async () => {
    const x = randn(rng, [3, 1]);
    const [a, b] = await evaluate((t, l) => [expand(t, [2, 3, 4]), expandLike(t, l)], [x, HostTensor.zeros("float32", [2, 3, 4])]);
    const expected = refElementwise([asRef(x), { shape: [2, 3, 4], data: new Array(24).fill(0) }], (p) => p);
    assertClose(a!, expected);
    assertClose(b!, expected);
  });

  const sliceCases: [number[], number[], number[]][] = [
    [[1], [1], [3]], [[0, 2], [1, -3], [2, 100]], [[-1], [-2], [-1]], [[2], [-100], [2]], [[1], [2], [1]],
  ];
  for (const [axes, starts, ends] of sliceCases) {
    test(`slice x=[2,3,4] axes=${fmt(axes)} starts=${fmt(starts)} ends=${fmt(ends)}`, async () => {
      const x = iota([2, 3, 4]);
      assertClose(await evaluate1((t) => slice(t, axes, starts, ends), [x]), refSlice(asRef(x), axes, starts, ends));
    });
  }

  const padCases: [number[], "constant" | "reflect" | "edge", number][] = [
    [[0, 1, 2, 1, 0, 0], "constant", 0], [[1, 0, 1, 0, 2, 0], "constant", -1.5], [[0, 2, 1, 0, 1, 2], "reflect", 0],
    [[1, 1, 0, 0, 2, 3], "edge", 0], [[0, -1, 1, 0, 2, -2], "constant", 0],
  ];
  for (const [pads, mode, value] of padCases) {
    test(`pad x=[2,3,4] pads=${fmt(pads)} mode=${mode} value=${value}`, async () => {
      const x = randn(rng, [2, 3, 4]);
      assertClose(await evaluate1((t) => pad(t, pads, mode, value), [x]), refPad(asRef(x), pads, mode, value));
    });
  }

  test("concat [2,1,4] [2,3,4] [2,2,4] axis=1 and axis=-1", async () => {
    const a = randn(rng, [2, 1, 4]), b = randn(rng, [2, 3, 4]), c = randn(rng, [2, 2, 4]);
    const y = await evaluate1((p, q, r) => concat([p, q, r], 1), [a, b, c]);
    const ref = Array.from({ length: 2 * 6 * 4 }, (_, i) => {
      const [n, j, k] = unravel(i, [2, 6, 4]) as [number, number, number];
      return j < 1 ? a.data[(n * 1 + j) * 4 + k]! : j < 4 ? b.data[(n * 3 + j - 1) * 4 + k]! : c.data[(n * 2 + j - 4) * 4 + k]!;
    });
    assertClose(y, { shape: [2, 6, 4], data: ref });
    const z = await evaluate1((p, q) => concat([p, q], -1), [iota([2, 2]), iota([2, 1])]);
    assertClose(z, { shape: [2, 3], data: [0, 1, 0, 2, 3, 1] });
  });

  test("split [2,6,4] on axis 1 into 1, 3, 2 and on axis -1 into 3, 1: each part is the slice", async () => {
    const x = randn(rng, [2, 6, 4]);
    const parts = await evaluate((t) => split(t, 1, [1, 3, 2]), [x]);
    const starts = [0, 1, 4];
    parts.forEach((p, i) => assertClose(p, refSlice(asRef(x), [1], [starts[i]!], [starts[i]! + p.shape[1]!])));
    const last = await evaluate((t) => split(t, -1, [3, 1]), [x]);
    assertClose(last[0]!, refSlice(asRef(x), [2], [0], [3]));
    assertClose(last[1]!, refSlice(asRef(x), [2], [3], [4]));
  });

  test("concat of one tensor is that tensor", () => {
    const { xs: [x] } = symbolic([{ dtype: "float32", shape: [2] }]);
    assert.equal(concat([x!], 0), x);
  });

  test("shapeCount static and symbolic x=[B,3,4] axes=[0,2]", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", ["B", 3, 4]);
    const n = shapeCount(x, [0, 2]);
    const m = shapeCount(x, [1, -1]);
    assert.equal(m.source.kind, "constant");
    const s = await CompiledGraph.create(g, { n, m }, { threads: 1 });
    for (const b of [1, 5]) {
      const r = await s.run({ x: HostTensor.zeros("float32", [b, 3, 4]) });
      assert.equal(r.n!.at(0), b * 4);
      assert.equal(r.m!.at(0), 12);
    }
    await s.dispose();
  });
});

describe("shape ops VJP", () => {
  const rng = new Rng(909);
  for (let k = 0; k < 3; k++) {
    const shape = randShape(rng, 2 + rng.int(2), 1, 4);
    const perm = rng.shuffle(shape.map((_, i) => i));
    const n = shapeSize(shape);
    test(`reshape VJP x=${fmt(shape)} to [${n}]`, async () => {
      await assertGradients((t) => reshape(t, [-1]), [randn(rng, shape)]);
    });
    test(`reshapeLike VJP x=${fmt(shape)} like=[${n}]`, async () => {
      await assertGradients((t, l) => reshapeLike(t, l), [randn(rng, shape), HostTensor.i64(new Array(n).fill(0), [n])]);
    });
    test(`transpose VJP x=${fmt(shape)} perm=${fmt(perm)}`, async () => {
      await assertGradients((t) => transpose(t, perm), [randn(rng, shape)]);
    });
    test(`unsqueeze VJP x=${fmt(shape)} axes=[0,-1]`, async () => {
      await assertGradients((t) => unsqueeze(t, [0, -1]), [randn(rng, shape)]);
    });
    const withOnes = shape.map((d) => (rng.uniform() < 0.5 ? 1 : d));
    const ones = withOnes.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
    if (ones.length) {
      test(`squeeze VJP x=${fmt(withOnes)} axes=${fmt(ones)}`, async () => {
        await assertGradients((t) => squeeze(t, ones), [randn(rng, withOnes)]);
      });
    }
    const target = [1 + rng.int(3), ...shape];
    test(`expand VJP x=${fmt(withOnes)} to ${fmt(target)}`, async () => {
      await assertGradients((t) => expand(t, target), [randn(rng, withOnes)]);
    });
    test(`expandLike VJP x=${fmt(withOnes)} like=${fmt(target)}`, async () => {
      await assertGradients((t, l) => expandLike(t, l), [randn(rng, withOnes), HostTensor.i64(new Array(shapeSize(target)).fill(0), target)]);
    });
    const axis = rng.int(shape.length);
    const starts = [rng.int(shape[axis]!)], ends = [starts[0]! + 1 + rng.int(shape[axis]! - starts[0]!)];
    test(`slice VJP x=${fmt(shape)} axes=[${axis}] starts=${fmt(starts)} ends=${fmt(ends)}`, async () => {
      await assertGradients((t) => slice(t, [axis], starts, ends), [randn(rng, shape)]);
    });
    const pads = [...shape.map(() => rng.int(3)), ...shape.map(() => rng.int(3))];
    test(`pad VJP x=${fmt(shape)} pads=${fmt(pads)}`, async () => {
      await assertGradients((t) => pad(t, pads, "constant", 0.5), [randn(rng, shape)]);
    });
    const other = [...shape];
    other[axis] = 1 + rng.int(3);
    test(`concat VJP ${fmt(shape)} ${fmt(other)} ${fmt(shape)} axis=${axis}`, async () => {
      await assertGradients((a, b, c) => concat([a, b, c], axis), [randn(rng, shape), randn(rng, other), randn(rng, shape)]);
    });
  }

  test("split VJP [3,7,2] axis=1 into 2, 4, 1, with every part used and with the middle part unused", async () => {
    const x = randn(rng, [3, 7, 2]);
    const w = [randn(rng, [3, 2, 2]), randn(rng, [3, 4, 2]), randn(rng, [3, 1, 2])];
    const weighted = (t: Tensor, skip?: number) => {
      const parts = split(t, 1, [2, 4, 1]);
      const terms = parts.map((p, i) => (i === skip ? null : reduceSum(mul(p, t.graph.constant(w[i]!))))).filter((v): v is Tensor => v !== null);
      return terms.reduce((a, b) => add(a, b));
    };
    await assertGradients((t) => weighted(t), [x]);
    await assertGradients((t) => weighted(t, 1), [x]);
  });

  test("pad VJP with negative pads (crop) x=[5,4] pads=[-1,2,1,-2]", async () => {
    await assertGradients((t) => pad(t, [-1, 2, 1, -2]), [randn(rng, [5, 4])]);
  });

  test("slice VJP with negative and clamped bounds x=[3,6] axes=[1,0] starts=[-4,-100] ends=[-1,100]", async () => {
    await assertGradients((t) => slice(t, [1, 0], [-4, -100], [-1, 100]), [randn(rng, [3, 6])]);
  });

  test("pad in reflect mode has no gradient: MissingRuleError naming pad", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [4]);
    const y = reduceSum(pad(x, [1, 1], "reflect"));
    assertThrowsFields(() => grad(y, [x]), MissingRuleError, { op: "pad", got: "reflect" });
  });
});

describe("shape ops shape rules", () => {
  const f = (shape: (number | string)[]) => symbolic([{ dtype: "float32", shape }]).xs[0]!;

  test("reshape x=[2,3] to [4,2] and to [-1,-1] are ShapeErrors", () => {
    const x = f([2, 3]);
    assertThrowsFields(() => reshape(x, [4, 2]), ShapeError, { op: "reshape", expected: "[2, 3]", got: "[4, 2]" });
    assertThrowsFields(() => reshape(x, [-1, -1]), ShapeError, { op: "reshape", expected: "one -1" });
    assertThrowsFields(() => reshape(x, [4, -1]), ShapeError, { op: "reshape", got: "[4, -1]" });
  });

  test("reshape x=[B,3] to [C,3] names the unknown symbol", () => {
    assertThrowsFields(() => reshape(f(["B", 3]), ["C", 3]), ShapeError, { op: "reshape", got: "C" });
  });

  test("transpose with a bad permutation is a ShapeError", () => {
    assertThrowsFields(() => transpose(f([2, 3, 4]), [0, 0, 1]), ShapeError, { op: "transpose", got: "[0, 0, 1]" });
    assertThrowsFields(() => transpose(f([2, 3, 4]), [1, 0]), ShapeError, { op: "transpose" });
  });

  test("squeeze of a non-1 axis is a ShapeError", () => {
    assertThrowsFields(() => squeeze(f([2, 1, 3]), [0]), ShapeError, { op: "squeeze", expected: "size 1 at axis 0", got: "[2, 1, 3]" });
  });

  test("expand x=[3,2] to [3,4] is a ShapeError", () => {
    assertThrowsFields(() => expand(f([3, 2]), [3, 4]), ShapeError, { op: "expand" });
  });

  test("slice with mismatched axes/starts/ends lengths and a symbolic sliced axis", () => {
    assertThrowsFields(() => slice(f([3, 4]), [0, 1], [0], [1, 2]), ShapeError, { op: "slice" });
    assertThrowsFields(() => slice(f(["B", 4]), [0], [0], [1]), ShapeError, { op: "slice", expected: "static" });
  });

  test("pad with the wrong number of pads or cropping past zero", () => {
    assertThrowsFields(() => pad(f([3, 4]), [1, 1]), ShapeError, { op: "pad", expected: "4 pads", got: "2" });
    assertThrowsFields(() => pad(f([3, 4]), [-2, 0, -2, 0]), ShapeError, { op: "pad" });
  });

  test("split part sizes that do not add up to the axis, or are not positive", () => {
    const { xs: [x] } = symbolic([{ dtype: "float32", shape: [2, 6] }]);
    assertThrowsFields(() => split(x!, 1, [2, 3]), ShapeError, { op: "split", expected: "adding up to axis 1 of [2, 6]", got: "[2, 3]" });
    assertThrowsFields(() => split(x!, 1, [6, 0]), ShapeError, { op: "split", got: "[6, 0]" });
  });

  test("concat shape and dtype mismatches", () => {
    const { xs: [a, b, c] } = symbolic([{ dtype: "float32", shape: [2, 3] }, { dtype: "float32", shape: [3, 3] }, { dtype: "int64", shape: [2, 3] }]);
    assertThrowsFields(() => concat([a!, b!], 1), ShapeError, { op: "concat", got: ["[2, 3]", "[3, 3]"] });
    assertThrowsFields(() => concat([a!, c!], 0), DTypeError, { op: "concat", got: "int64" });
  });
});
