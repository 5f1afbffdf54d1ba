import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Graph, type Dim } from "../../src/engine/graph/tensor.js";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { grad } from "../../src/engine/autodiff/grad.js";
import { conv2d, groupNorm, reduceMean, registeredOps, silu } from "../../src/engine/ops/index.js";
import { CompiledGraph } from "../../src/engine/runtime/session.js";
import { Rng, assertClose, randn } from "./helpers.js";

const EXPECTED_OPS = [
  "reshape", "reshapeLike", "transpose", "unsqueeze", "squeeze", "expand", "expandLike", "slice", "pad", "concat", "split", "shapeCount",
  "greater", "less", "greaterOrEqual", "lessOrEqual", "equal", "and", "or", "not", "where",
  "cast", "stopGradient", "fillLike", "reduceSum", "reduceMean", "reduceMax",
  "neg", "exp", "log", "sqrt", "reciprocal", "sigmoid", "tanh", "erf", "cos", "sin", "abs", "relu", "sign", "floor", "bitwiseNot", "leakyRelu",
  "add", "sub", "mul", "div", "pow", "maximum", "minimum", "mod", "matmul", "conv2d", "convTranspose2d", "groupNorm", "layerNorm",
  "gelu", "softmax", "logSoftmax", "gather", "scatterAdd", "gatherElements", "scatterElementsAdd", "upsampleNearest", "maxPool",
  "cumSum", "topK", "argMax", "randomUniform", "reducedMatmul",
];
/** Ops without any gradient: integer / boolean results and index selections. */
const NO_GRADIENT = ["greater", "less", "greaterOrEqual", "lessOrEqual", "equal", "and", "or", "not", "bitwiseNot", "mod", "topK", "argMax"];

describe("op registry", () => {
  test("every registered op has a shape rule, an ONNX emitter and a VJP (a function or \"none\")", () => {
    const ops = registeredOps();
    assert.ok(ops.size > 0);
    for (const [name, def] of ops) {
      assert.equal(def.name, name, `registry key ${name}`);
      assert.equal(typeof def.infer, "function", `${name}.infer`);
      assert.equal(typeof def.onnx, "function", `${name}.onnx`);
      assert.ok(typeof def.vjp === "function" || def.vjp === "none", `${name}.vjp is ${String(def.vjp)}`);
    }
  });

  test("the registry holds every primitive of ops/*.ts", () => {
    const names = new Set(registeredOps().keys());
    const missing = EXPECTED_OPS.filter((n) => !names.has(n));
    assert.deepEqual(missing, [], "ops missing from the registry");
  });

  test("exactly the non-differentiable primitives declare vjp \"none\"", () => {
    const none = [...registeredOps()].filter(([, d]) => d.vjp === "none").map(([n]) => n).sort();
    assert.deepEqual(none, [...NO_GRADIENT].sort());
  });
});

describe("symbolic batch dimension", () => {
  test("conv(s=2, pads=[0,0,1,1]) + groupNorm + silu + reduceMean over x=[B,3,8,8]: one compile runs B=1 and B=3 and matches static graphs", async () => {
    const rng = new Rng(3030);
    const params = new Map<string, HostTensor>([
      ["conv.weight", randn(rng, [4, 3, 3, 3], 0.3)],
      ["conv.bias", randn(rng, [4], 0.1)],
      ["norm.weight", randn(rng, [4], 0.5)],
      ["norm.bias", randn(rng, [4], 0.5)],
    ]);
    const build = (batch: Dim) => {
      const g = new Graph();
      const x = g.input("x", "float32", [batch, 3, 8, 8]);
      const w = g.scope("conv", () => g.param("weight", [4, 3, 3, 3], { kind: "constant", value: 0 }));
      const b = g.scope("conv", () => g.param("bias", [4], { kind: "constant", value: 0 }));
      const gamma = g.scope("norm", () => g.param("weight", [4], { kind: "constant", value: 1 }));
      const beta = g.scope("norm", () => g.param("bias", [4], { kind: "constant", value: 0 }));
      const h = conv2d(x, w, { strides: [2, 2], pads: [0, 0, 1, 1], dilations: [1, 1], group: 1 }, b);
      assert.deepEqual([...h.shape], [batch, 4, 4, 4]);
      // silu makes the loss depend on gamma and beta (a plain mean of a groupNorm would not).
      const loss = reduceMean(silu(groupNorm(h, gamma, beta, 2, 1e-5)));
      const wrt = [w, b, gamma, beta, x];
      const grads = grad(loss, wrt);
      grads.forEach((gr, i) => assert.deepEqual([...gr.shape], [...wrt[i]!.shape], `gradient ${i} shape`));
      const [gw, gb, ggamma, gbeta, gx] = grads;
      return { g, outs: { loss, gw: gw!, gb: gb!, ggamma: ggamma!, gbeta: gbeta!, gx: gx! } };
    };

    const sym = build("B");
    const session = await CompiledGraph.create(sym.g, sym.outs, { threads: 1 });
    assert.deepEqual(session.paramKeys.sort(), [...params.keys()].sort());
    for (const batch of [1, 3]) {
      const x = randn(rng, [batch, 3, 8, 8]);
      const got = await session.run({ x }, params);
      const st = build(batch);
      const stSession = await CompiledGraph.create(st.g, st.outs, { threads: 1 });
      const want = await stSession.run({ x }, params);
      await stSession.dispose();
      assert.deepEqual([...got.gx!.shape], [batch, 3, 8, 8]);
      for (const k of Object.keys(want)) assertClose(got[k]!, want[k]!, { rtol: 1e-4, atol: 1e-6 }, `${k} at B=${batch}`);
      // The gradients are not trivially zero.
      for (const k of ["gw", "gb", "ggamma", "gbeta"]) assert.ok(got[k]!.toNumbers().some((v) => Math.abs(v) > 1e-6), `${k} is nonzero`);
    }
    await session.dispose();
  });
});
