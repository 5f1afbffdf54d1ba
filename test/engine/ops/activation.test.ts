import { describe, test } from "node:test";
import { DTypeError, ShapeError } from "../../../src/engine/errors.js";
import { gelu, logSoftmax, mul, neg, reduceMean, reduceSum, softmax } from "../../../src/engine/ops/index.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import {
  Rng, assertClose, assertGradients, assertThrowsFields, erfRef, evaluate1, fmt, randn, randShape, ravel, symbolic, unravel, type Ref,
} from "../helpers.js";

/** Softmax / log-softmax along one axis, computed stably in doubles. */
function refSoftmax(x: Ref, axis: number, log: boolean): Ref {
  const r = x.shape.length, ax = axis < 0 ? axis + r : axis, n = x.shape[ax]!;
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape);
    if (idx[ax] !== 0) continue;
    const at = (k: number) => ravel(idx.map((v, j) => (j === ax ? k : v)), x.shape);
    let m = -Infinity;
    for (let k = 0; k < n; k++) m = Math.max(m, x.data[at(k)]!);
    let s = 0;
    for (let k = 0; k < n; k++) s += Math.exp(x.data[at(k)]! - m);
    for (let k = 0; k < n; k++) out[at(k)] = log ? x.data[at(k)]! - m - Math.log(s) : Math.exp(x.data[at(k)]! - m) / s;
  }
  return { shape: x.shape, data: out };
}

describe("activation forward", () => {
  const rng = new Rng(2121);

  test("gelu x=[3,5] is x * Phi(x) (exact erf form)", async () => {
    const x = randn(rng, [3, 5], 2);
    const ref = x.toNumbers().map((v) => 0.5 * v * (1 + erfRef(v / Math.SQRT2)));
    assertClose(await evaluate1(gelu, [x]), { shape: [3, 5], data: ref }, { rtol: 1e-5, atol: 1e-6 });
  });

  for (const axis of [-1, 0, 1, 2]) {
    test(`softmax x=[2,3,4] axis=${axis}`, async () => {
      const x = randn(rng, [2, 3, 4], 3);
      assertClose(await evaluate1((t) => softmax(t, axis), [x]), refSoftmax(x, axis, false), { rtol: 1e-5, atol: 1e-6 });
    });
    test(`logSoftmax x=[2,3,4] axis=${axis}`, async () => {
      const x = randn(rng, [2, 3, 4], 3);
      assertClose(await evaluate1((t) => logSoftmax(t, axis), [x]), refSoftmax(x, axis, true), { rtol: 1e-5, atol: 1e-5 });
    });
  }

  test("softmax and logSoftmax of large logits x=[2,3] stay finite", async () => {
    const x = randn(rng, [2, 3], 1);
    for (let i = 0; i < 6; i++) x.data[i]! += 500;
    assertClose(await evaluate1((t) => softmax(t), [x]), refSoftmax(x, -1, false), { rtol: 1e-4, atol: 1e-6 });
    assertClose(await evaluate1((t) => logSoftmax(t), [x]), refSoftmax(x, -1, true), { rtol: 1e-4, atol: 1e-4 });
  });
});

describe("activation VJP", () => {
  const rng = new Rng(2222);
  for (let k = 0; k < 3; k++) {
    const shape = randShape(rng, 1 + rng.int(3), 1, 5);
    test(`gelu VJP x=${fmt(shape)}`, async () => {
      await assertGradients(gelu, [randn(rng, shape, 1.5)]);
    });
  }
  for (const fn of ["softmax", "logSoftmax"] as const) {
    const f = fn === "softmax" ? softmax : logSoftmax;
    for (let k = 0; k < 5; k++) {
      const shape = randShape(rng, 2 + rng.int(2), 2, 4);
      // The first cases are forced onto a non-last axis.
      const axis = k < 3 ? rng.int(shape.length - 1) : rng.int(shape.length) - shape.length;
      test(`${fn} VJP x=${fmt(shape)} axis=${axis}`, async () => {
        await assertGradients((t) => f(t, axis), [randn(rng, shape, 1.5)]);
      });
    }
  }

  test("softmax cross-entropy VJP logits=[4,5] (logSoftmax against a constant one-hot)", async () => {
    const onehot = HostTensor.f32(Array.from({ length: 20 }, (_, i) => (i % 5 === (3 * Math.floor(i / 5)) % 5 ? 1 : 0)), [4, 5]);
    await assertGradients((l) => neg(reduceMean(reduceSum(mul(logSoftmax(l, -1), l.graph.constant(onehot)), [1]))), [randn(rng, [4, 5])]);
  });
});

describe("activation shape rules", () => {
  test("softmax axis 3 of a rank-3 tensor is a ShapeError", () => {
    const { xs: [x] } = symbolic([{ dtype: "float32", shape: [2, 3, 4] }]);
    assertThrowsFields(() => softmax(x!, 3), ShapeError, { op: "softmax", got: "3" });
    assertThrowsFields(() => logSoftmax(x!, -4), ShapeError, { op: "logSoftmax", got: "-4" });
  });

  test("gelu and softmax on int64 are DTypeErrors", () => {
    const { xs: [x] } = symbolic([{ dtype: "int64", shape: [2, 3] }]);
    assertThrowsFields(() => gelu(x!), DTypeError, { op: "gelu", got: "int64" });
    assertThrowsFields(() => softmax(x!), DTypeError, { op: "softmax", got: "int64" });
  });
});
