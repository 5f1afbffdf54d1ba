import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Graph, type Tensor } from "../../../src/engine/graph/tensor.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { MissingRuleError, ShapeError } from "../../../src/engine/errors.js";
import { grad, valueAndGrad } from "../../../src/engine/autodiff/grad.js";
import { defineOp } from "../../../src/engine/ops/define-op.js";
import {
  add, cast, conv2d, exp, gather, gatherElements, groupNorm, logSoftmax, matmul, mod, mul, neg, pad, reduceMean, reduceSum, sigmoid, silu,
  sin, square, stopGradient, sub, tanh,
} from "../../../src/engine/ops/index.js";
import { CompiledGraph } from "../../../src/engine/runtime/session.js";
import { Rng, assertClose, assertGradients, assertThrowsFields, randIndex, randn, runGraph } from "../helpers.js";

const f64 = (rng: Rng, shape: number[], scale = 1) => HostTensor.f64(randn(rng, shape, scale).data, shape);

// Test-only ops: one without a VJP rule, one whose rule returns too few cotangents, one whose
// rule returns a cotangent of the wrong shape.
const identityLike = (name: string, vjp: unknown) => {
  const op = defineOp<null>({
    name,
    infer: (ins) => [{ dtype: ins[0]!.dtype, shape: ins[0]!.shape }],
    onnx: (e, { inputs, outputs }) => e.op("Identity", inputs, {}, outputs[0]),
    vjp: vjp as "none",
  });
  return (x: Tensor): Tensor => op([x], null)[0]!;
};
const noRule = identityLike("test.noRule", undefined);
const tooFewCotangents = identityLike("test.tooFew", () => []);
const wrongShapeCotangent = identityLike("test.wrongShape", ({ g: [g] }: { g: Tensor[] }) => [reduceSum(g!, [0])]);

describe("grad", () => {
  const rng = new Rng(4040);

  test("accumulation: x used by four nodes, d/dx sum(x*x + sin(x) + x) = 2x + cos(x) + 1", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [5]);
    const [gx] = grad(reduceSum(add(add(mul(x, x), sin(x)), x)), [x]);
    const xv = randn(rng, [5]);
    const r = await runGraph(g, { gx: gx! }, { x: xv });
    assertClose(r.gx!, xv.toNumbers().map((v) => 2 * v + Math.cos(v) + 1), { rtol: 1e-5, atol: 1e-6 });
  });

  test("accumulation through an intermediate used twice: d/dx sum(h*h + h), h = exp(x)", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [4]);
    const h = exp(x);
    const [gx] = grad(reduceSum(add(mul(h, h), h)), [x]);
    const xv = randn(rng, [4], 0.5);
    const r = await runGraph(g, { gx: gx! }, { x: xv });
    assertClose(r.gx!, xv.toNumbers().map((v) => (2 * Math.exp(v) + 1) * Math.exp(v)), { rtol: 1e-5, atol: 1e-6 });
  });

  test("zero gradient for a wrt tensor the loss does not depend on (static and symbolic shapes)", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [3]);
    const u = g.input("u", "float32", [2, 2]);
    const v = g.input("v", "float32", ["B", 3]);
    const [gx, gu, gv] = grad(reduceSum(square(x)), [x, u, v]);
    assert.deepEqual([...gu!.shape], [2, 2]);
    assert.deepEqual([...gv!.shape], ["B", 3]);
    const r = await runGraph(g, { gx: gx!, gu: gu!, gv: gv! }, { x: HostTensor.f32([1, 2, 3]), u: randn(rng, [2, 2]), v: randn(rng, [4, 3]) });
    assertClose(r.gx!, [2, 4, 6]);
    assertClose(r.gu!, { shape: [2, 2], data: [0, 0, 0, 0] });
    assertClose(r.gv!, { shape: [4, 3], data: new Array(12).fill(0) });
  });

  test("stopGradient: d/dx sum((x - stop(2x))^2) = 2(x - 2x)", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [4]);
    const [gx] = grad(reduceSum(square(sub(x, stopGradient(mul(x, 2))))), [x]);
    const xv = randn(rng, [4]);
    const r = await runGraph(g, { gx: gx! }, { x: xv });
    assertClose(r.gx!, xv.toNumbers().map((v) => -2 * v), { rtol: 1e-5, atol: 1e-6 });
  });

  test("a wrt tensor reached only through stopGradient gets zeros", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [3]);
    const [gx] = grad(reduceSum(mul(stopGradient(x), 3)), [x]);
    assertClose((await runGraph(g, { gx: gx! }, { x: HostTensor.f32([1, 2, 3]) })).gx!, [0, 0, 0]);
  });

  test("frozen path: gradient w.r.t. the generator's weight and input flows through a discriminator whose params are not in wrt (float64, finite differences)", async () => {
    const g = new Graph();
    const z = g.input("z", "float64", [2, 3]);
    const wg = g.scope("gen", () => g.param("weight", [3, 4], { kind: "constant", value: 0 }, { dtype: "float64" }));
    const wd = g.scope("disc", () => g.param("weight", [4, 2], { kind: "constant", value: 0 }, { dtype: "float64" }));
    // The discriminator preprocesses its weight with an op that has no gradient rule: since the
    // weight is frozen, grad must not build any backward node for that branch.
    const wdEff = pad(wd, [0, 0, 0, 0], "reflect");
    const loss = reduceSum(sigmoid(matmul(tanh(matmul(z, wg)), wdEff)));
    const [gwg, gz] = grad(loss, [wg, z]);

    const zv = f64(rng, [2, 3]);
    const params = new Map([["gen.weight", f64(rng, [3, 4], 0.7)], ["disc.weight", f64(rng, [4, 2], 0.7)]]);
    const s = await CompiledGraph.create(g, { loss, gwg: gwg!, gz: gz! }, { threads: 1 });
    const base = await s.run({ z: zv }, params);
    const eps = 1e-6;
    const numeric = async (which: "z" | "gen.weight", j: number) => {
      const bump = (d: number) => {
        const src = which === "z" ? zv : params.get(which)!;
        const t = src.clone();
        (t.data as Float64Array)[j]! += d;
        return which === "z" ? s.run({ z: t }, params) : s.run({ z: zv }, new Map([...params, [which, t]]));
      };
      return ((await bump(eps)).loss!.at(0) - (await bump(-eps)).loss!.at(0)) / (2 * eps);
    };
    for (let j = 0; j < 12; j++) assert.ok(Math.abs(base.gwg!.at(j) - (await numeric("gen.weight", j))) < 1e-7, `d/dWg[${j}]`);
    for (let j = 0; j < 6; j++) assert.ok(Math.abs(base.gz!.at(j) - (await numeric("z", j))) < 1e-7, `d/dz[${j}]`);
    assert.deepEqual(s.paramKeys.sort(), ["disc.weight", "gen.weight"]);
    await s.dispose();
  });

  test("integer index paths get no backward nodes: ids derived from x pass through a rule-less op", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [5, 2]);
    // ids = trunc(rowsum(x)) mod 5: an int64 path computed from x. The cast's int64 output is not
    // differentiable, so the rule-less op after it must never be asked for a VJP.
    const ids = mod(noRule(cast(reduceSum(x, [1]), "int64")), 5);
    const [gx] = grad(reduceSum(gather(x, ids, 0)), [x]);
    const xv = HostTensor.f32([1.25, 2.5, 0.25, -3.5, 4.25, 0.5, -1.25, -0.5, 2.25, 4.5], [5, 2]);
    const r = await runGraph(g, { ids, gx: gx! }, { x: xv });
    assert.deepEqual(r.ids!.toNumbers(), [3, 2, 4, 4, 1]);
    assertClose(r.gx!, { shape: [5, 2], data: [0, 0, 1, 1, 1, 1, 1, 1, 2, 2] });
  });

  test("explicit seed cotangent for a non-scalar output: d/dx <x*x, s> = 2 x s", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, 3]);
    const sd = g.input("s", "float32", [2, 3]);
    const [gx] = grad(mul(x, x), [x], { seed: sd });
    const xv = randn(rng, [2, 3]), sv = randn(rng, [2, 3]);
    const r = await runGraph(g, { gx: gx! }, { x: xv, s: sv });
    assertClose(r.gx!, xv.toNumbers().map((v, i) => 2 * v * sv.data[i]!), { rtol: 1e-5, atol: 1e-6 });
  });

  test("valueAndGrad returns the loss itself and its gradients; grad of the loss w.r.t. itself is 1", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [3]);
    const loss = reduceSum(square(x));
    const { value, grads } = valueAndGrad(loss, [x, loss]);
    assert.equal(value, loss);
    const r = await runGraph(g, { value, gx: grads[0]!, gl: grads[1]! }, { x: HostTensor.f32([1, -1, 2]) });
    assertClose(r.value!, [6]);
    assertClose(r.gx!, [2, -2, 4]);
    assertClose(r.gl!, [1]);
  });

  test("second order: d/dx sum(d/dx sum(x^3)) = 6x", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [4]);
    const [gx] = grad(reduceSum(mul(mul(x, x), x)), [x]);
    const [ggx] = grad(reduceSum(gx!), [x]);
    const xv = randn(rng, [4]);
    const r = await runGraph(g, { gx: gx!, ggx: ggx! }, { x: xv });
    assertClose(r.gx!, xv.toNumbers().map((v) => 3 * v * v), { rtol: 1e-5, atol: 1e-6 });
    assertClose(r.ggx!, xv.toNumbers().map((v) => 6 * v), { rtol: 1e-5, atol: 1e-6 });
  });
});

describe("missing and malformed VJP rules", () => {
  test("an op without a VJP on the path: MissingRuleError naming the op and its scope", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [3]);
    const y = g.scope("block", () => g.scope(1, () => noRule(mul(x, 2))));
    assertThrowsFields(() => grad(reduceSum(y), [x]), MissingRuleError, { op: "test.noRule", scope: "block.1", expected: "a VJP rule" });
  });

  test("an op without a VJP off the path is never asked for one", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [3]);
    const c = g.input("c", "float32", [3]);
    const [gx] = grad(reduceSum(mul(x, noRule(c))), [x]);
    assertClose((await runGraph(g, { gx: gx! }, { x: HostTensor.f32([1, 2, 3]), c: HostTensor.f32([4, 5, 6]) })).gx!, [4, 5, 6]);
  });

  test("a VJP that throws for its configuration (reflect pad): MissingRuleError naming pad", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, 3]);
    assertThrowsFields(() => grad(reduceSum(pad(x, [0, 1, 0, 1], "edge")), [x]), MissingRuleError, { op: "pad", got: "edge" });
  });

  test("a VJP returning the wrong number of cotangents: MissingRuleError", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [3]);
    assertThrowsFields(() => grad(reduceSum(tooFewCotangents(x)), [x]), MissingRuleError, { op: "test.tooFew", expected: "1 cotangents", got: "0" });
  });

  test("a VJP returning a wrongly shaped cotangent: ShapeError from grad with a hint", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, 3]);
    let err: unknown;
    try {
      grad(reduceSum(wrongShapeCotangent(x)), [x]);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ShapeError);
    assert.equal(err.op, "grad");
    assert.ok(err.expected.includes("[2, 3]") && err.got.includes("[3]"), err.message);
    assert.ok(err.hint?.includes("VJP"));
  });
});

describe("whole small network", () => {
  test("conv(s=2, pads=[0,0,1,1]) + groupNorm + silu + conv + global mean + linear + softmax cross-entropy: all parameter gradients", async () => {
    const rng = new Rng(4141);
    const inputs = [
      randn(rng, [2, 3, 8, 8]), // x
      randn(rng, [4, 3, 3, 3], 0.3), randn(rng, [4], 0.1), // conv1 weight, bias
      HostTensor.f32(randn(rng, [4], 0.2).data.map((v) => 1 + v)), randn(rng, [4], 0.2), // groupNorm scale, bias
      randn(rng, [6, 4, 3, 3], 0.3), randn(rng, [6], 0.1), // conv2 weight, bias
      randn(rng, [6, 5], 0.5), randn(rng, [5], 0.1), // linear weight, bias
      randIndex(rng, [2, 1], 5), // labels
    ];
    const net = (x: Tensor, w1: Tensor, b1: Tensor, gs: Tensor, gb: Tensor, w2: Tensor, b2: Tensor, wl: Tensor, bl: Tensor, labels: Tensor) => {
      const h1 = conv2d(x, w1, { strides: [2, 2], pads: [0, 0, 1, 1], dilations: [1, 1], group: 1 }, b1); // [2,4,4,4]
      const h2 = silu(groupNorm(h1, gs, gb, 2, 1e-5));
      const h3 = conv2d(h2, w2, { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 }, b2); // [2,6,4,4]
      const pooled = reduceMean(h3, [2, 3]); // [2,6]
      const logits = add(matmul(pooled, wl), bl); // [2,5]
      return neg(reduceMean(gatherElements(logSoftmax(logits, 1), labels, 1)));
    };
    await assertGradients((...xs) => net(...(xs as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor])), inputs, { directions: 3, coordinates: 4 });
  });
});
