import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { DTypeError, ShapeError } from "../../../src/engine/errors.js";
import { grad } from "../../../src/engine/autodiff/grad.js";
import { conv2d, convTranspose2d, mul, reduceSum, type ConvAttrs, type ConvTransposeAttrs } from "../../../src/engine/ops/index.js";
import { IM2COL_CHUNK_FLOATS } from "../../../src/engine/ops/conv.js";
import { CompiledGraph } from "../../../src/engine/runtime/session.js";
import {
  Rng, assertClose, assertGradients, assertThrowsFields, evaluate1, fmt, randInt, randn, ref, refConv2d, refConvTranspose2d, symbolic,
} from "../helpers.js";

const conv = (a: Partial<ConvAttrs> = {}): ConvAttrs => ({ strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1, ...a });
const convT = (a: Partial<ConvTransposeAttrs> = {}): ConvTransposeAttrs => ({ ...conv(a), outputPadding: [0, 0], ...a });

function describeAttrs(a: ConvAttrs): string {
  const parts: string[] = [];
  if (a.strides[0] !== 1 || a.strides[1] !== 1) parts.push(`s=${a.strides[0] === a.strides[1] ? a.strides[0] : fmt(a.strides)}`);
  if (a.pads.some((p) => p !== 0)) parts.push(`pads=${fmt(a.pads)}`);
  if (a.dilations[0] !== 1 || a.dilations[1] !== 1) parts.push(`d=${a.dilations[0] === a.dilations[1] ? a.dilations[0] : fmt(a.dilations)}`);
  if (a.group !== 1) parts.push(`group=${a.group}`);
  if ("outputPadding" in a && (a as ConvTransposeAttrs).outputPadding.some((p) => p !== 0)) parts.push(`outputPadding=${fmt((a as ConvTransposeAttrs).outputPadding)}`);
  return parts.join(" ");
}

interface ConvCase { x: number[]; w: number[]; a: ConvAttrs; bias?: boolean; out?: number[]; note?: string }

const FORWARD: ConvCase[] = [
  { x: [2, 3, 8, 8], w: [4, 3, 3, 3], a: conv({ strides: [2, 2], pads: [0, 0, 1, 1] }), out: [2, 4, 4, 4], note: "(TF-SAME: bottom/right only)" },
  { x: [1, 5, 4, 6], w: [3, 5, 1, 1], a: conv(), note: "(1x1)" },
  { x: [1, 2, 9, 7], w: [3, 2, 5, 5], a: conv({ pads: [2, 2, 2, 2] }), note: "(5x5)" },
  { x: [2, 4, 6, 6], w: [6, 2, 3, 3], a: conv({ pads: [1, 1, 1, 1], group: 2 }), note: "(grouped)" },
  { x: [1, 3, 5, 5], w: [3, 1, 3, 3], a: conv({ pads: [1, 1, 1, 1], group: 3 }), note: "(depthwise)" },
  { x: [1, 2, 5, 5], w: [4, 1, 3, 3], a: conv({ group: 2 }), note: "(depthwise, multiplier 2)" },
  { x: [1, 2, 9, 9], w: [2, 2, 3, 3], a: conv({ pads: [2, 2, 2, 2], dilations: [2, 2] }), note: "(dilated)" },
  { x: [2, 3, 5, 5], w: [4, 3, 3, 3], a: conv({ pads: [1, 1, 1, 1] }), bias: true, note: "(bias)" },
  { x: [1, 2, 8, 8], w: [3, 2, 3, 3], a: conv({ strides: [2, 2] }), out: [1, 3, 3, 3], note: "(last row/col unused)" },
  { x: [1, 2, 7, 9], w: [2, 2, 3, 2], a: conv({ strides: [2, 1], dilations: [1, 2], pads: [1, 0, 0, 2] }), note: "(mixed per-axis attrs)" },
];

describe("conv2d forward", () => {
  const rng = new Rng(1313);
  for (const c of FORWARD) {
    test(`conv2d x=${fmt(c.x)} w=${fmt(c.w)} ${describeAttrs(c.a)} ${c.note ?? ""}`.trim(), async () => {
      const x = randn(rng, c.x), w = randn(rng, c.w), b = randn(rng, [c.w[0]!]);
      const y = c.bias ? await evaluate1((xt, wt, bt) => conv2d(xt, wt, c.a, bt), [x, w, b]) : await evaluate1((xt, wt) => conv2d(xt, wt, c.a), [x, w]);
      const expected = refConv2d(x, w, c.a, c.bias ? b : undefined);
      if (c.out) assert.deepEqual([...expected.shape], c.out, "reference output shape");
      assertClose(y, expected, { rtol: 1e-4, atol: 1e-4 });
    });
  }
});

const FORWARD_T: { x: number[]; w: number[]; a: ConvTransposeAttrs }[] = [
  { x: [1, 4, 3, 3], w: [4, 2, 3, 3], a: convT({ strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 1] }) },
  { x: [2, 4, 3, 4], w: [4, 3, 3, 3], a: convT({ group: 2 }) },
  { x: [1, 2, 4, 3], w: [2, 3, 3, 3], a: convT({ strides: [2, 2], dilations: [2, 2], pads: [0, 0, 1, 1] }) },
  { x: [1, 3, 4, 4], w: [3, 2, 4, 4], a: convT({ strides: [2, 2], pads: [1, 1, 1, 1] }) },
];

describe("convTranspose2d forward", () => {
  const rng = new Rng(1414);
  for (const c of FORWARD_T) {
    test(`convTranspose2d x=${fmt(c.x)} w=${fmt(c.w)} ${describeAttrs(c.a)}`, async () => {
      const x = randn(rng, c.x), w = randn(rng, c.w);
      assertClose(await evaluate1((xt, wt) => convTranspose2d(xt, wt, c.a), [x, w]), refConvTranspose2d(x, w, c.a), { rtol: 1e-4, atol: 1e-4 });
    });
  }
});

/** Random conv problems of each kind: kernel, stride, pads, dilation and groups fixed, sizes drawn. */
function randomConvCase(rng: Rng, kind: string): ConvCase {
  const n = randInt(rng, 1, 2);
  const even = () => 2 * randInt(rng, 2, 4);
  switch (kind) {
    case "s2-same": { const c = randInt(rng, 1, 3), h = even(), w = even(); return { x: [n, c, h, w], w: [randInt(rng, 1, 4), c, 3, 3], a: conv({ strides: [2, 2], pads: [0, 0, 1, 1] }), bias: true }; }
    case "1x1": { const c = randInt(rng, 1, 4); return { x: [n, c, randInt(rng, 1, 5), randInt(rng, 1, 5)], w: [randInt(rng, 1, 4), c, 1, 1], a: conv(), bias: true }; }
    case "5x5": { const c = randInt(rng, 1, 2); return { x: [n, c, randInt(rng, 3, 7), randInt(rng, 3, 7)], w: [randInt(rng, 1, 3), c, 5, 5], a: conv({ pads: [2, 2, 2, 2] }) }; }
    case "grouped": { const gr = randInt(rng, 2, 3), cg = randInt(rng, 1, 2), og = randInt(rng, 1, 2); return { x: [n, gr * cg, randInt(rng, 3, 6), randInt(rng, 3, 6)], w: [gr * og, cg, 3, 3], a: conv({ pads: [1, 1, 1, 1], group: gr }), bias: true }; }
    case "depthwise": { const c = randInt(rng, 2, 4); return { x: [n, c, randInt(rng, 3, 6), randInt(rng, 3, 6)], w: [c, 1, 3, 3], a: conv({ pads: [1, 1, 1, 1], group: c }) }; }
    case "dilated": { const c = randInt(rng, 1, 3); return { x: [n, c, randInt(rng, 5, 8), randInt(rng, 5, 8)], w: [randInt(rng, 1, 3), c, 3, 3], a: conv({ dilations: [2, 2], pads: [1, 2, 1, 0] }) }; }
    case "s2-valid": { const c = randInt(rng, 1, 3); return { x: [n, c, randInt(rng, 3, 8), randInt(rng, 3, 8)], w: [randInt(rng, 1, 3), c, 3, 3], a: conv({ strides: [2, 2] }), bias: true }; }
    case "mixed": { const c = randInt(rng, 1, 2); return { x: [n, 2 * c, randInt(rng, 5, 8), randInt(rng, 5, 8)], w: [2, c, 3, 2], a: conv({ strides: [2, 1], dilations: [1, 2], pads: [1, 0, 0, 2], group: 2 }) }; }
    default: throw new Error(kind);
  }
}

describe("conv2d VJP", () => {
  const rng = new Rng(1515);
  for (const kind of ["s2-same", "1x1", "5x5", "grouped", "depthwise", "dilated", "s2-valid", "mixed"]) {
    for (let k = 0; k < 2; k++) {
      const c = randomConvCase(rng, kind);
      test(`conv2d VJP x=${fmt(c.x)} w=${fmt(c.w)} ${describeAttrs(c.a)}${c.bias ? " +bias" : ""} (${kind})`, async () => {
        const inputs = [randn(rng, c.x), randn(rng, c.w, 0.5), ...(c.bias ? [randn(rng, [c.w[0]!])] : [])];
        // b is undefined when the case has no bias.
        await assertGradients((x, w, b) => conv2d(x, w, c.a, b), inputs);
      });
    }
  }
});

describe("convTranspose2d VJP", () => {
  const rng = new Rng(1616);
  const cases: (() => { x: number[]; w: number[]; a: ConvTransposeAttrs })[] = [
    () => { const c = randInt(rng, 1, 3); return { x: [randInt(rng, 1, 2), c, randInt(rng, 2, 4), randInt(rng, 2, 4)], w: [c, randInt(rng, 1, 3), 3, 3], a: convT({ strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 1] }) }; },
    () => { const c = randInt(rng, 1, 3); return { x: [1, c, randInt(rng, 2, 4), randInt(rng, 2, 4)], w: [c, randInt(rng, 1, 2), 4, 4], a: convT({ strides: [2, 2], pads: [1, 1, 1, 1] }) }; },
    () => { const gr = 2, cg = randInt(rng, 1, 2); return { x: [randInt(rng, 1, 2), gr * cg, randInt(rng, 2, 4), randInt(rng, 2, 4)], w: [gr * cg, randInt(rng, 1, 2), 3, 3], a: convT({ group: gr, pads: [1, 0, 0, 1] }) }; },
    () => { const c = randInt(rng, 1, 2); return { x: [1, c, randInt(rng, 2, 4), randInt(rng, 2, 4)], w: [c, 2, 3, 2], a: convT({ strides: [2, 1], dilations: [1, 2], pads: [0, 1, 1, 0], outputPadding: [1, 0] }) }; },
  ];
  for (const make of cases) {
    for (let k = 0; k < 2; k++) {
      const c = make();
      test(`convTranspose2d VJP x=${fmt(c.x)} w=${fmt(c.w)} ${describeAttrs(c.a)}`, async () => {
        await assertGradients((x, w) => convTranspose2d(x, w, c.a), [randn(rng, c.x), randn(rng, c.w, 0.5)]);
      });
    }
  }
});

describe("conv2d with a symbolic batch", () => {
  for (const [c, o, group] of [[3, 4, 1], [4, 6, 2]] as const) {
    test(`conv2d gradients x=[B,${c},6,6] w=[${o},${c / group},3,3] s=2 pads=[0,0,1,1] group=${group} match the static graph for B=1,3`, async () => {
      const rng = new Rng(1717 + group);
      const a = conv({ strides: [2, 2], pads: [0, 0, 1, 1], group });
      const wv = randn(rng, [o, c / group, 3, 3]), bv = randn(rng, [o]);
      const build = (batch: number | string) => {
        const g = new Graph();
        const x = g.input("x", "float32", [batch, c, 6, 6]);
        const w = g.input("w", "float32", [o, c / group, 3, 3]);
        const b = g.input("b", "float32", [o]);
        const y = conv2d(x, w, a, b);
        const r = g.input("r", "float32", [batch, o, 3, 3]);
        const [gx, gw, gb] = grad(reduceSum(mul(y, r)), [x, w, b]);
        return { g, outs: { y, gx: gx!, gw: gw!, gb: gb! } };
      };
      const sym = build("B");
      const symSession = await CompiledGraph.create(sym.g, sym.outs, { threads: 1 });
      for (const batch of [1, 3]) {
        const feeds = { x: randn(rng, [batch, c, 6, 6]), w: wv, b: bv, r: randn(rng, [batch, o, 3, 3]) };
        const got = await symSession.run(feeds);
        const st = build(batch);
        const stSession = await CompiledGraph.create(st.g, st.outs, { threads: 1 });
        const want = await stSession.run(feeds);
        await stSession.dispose();
        for (const k of ["y", "gx", "gw", "gb"]) assertClose(got[k]!, want[k]!, { rtol: 1e-5, atol: 1e-5 }, `${k} at B=${batch}`);
      }
      await symSession.dispose();
    });
  }
});

describe("conv shape rules", () => {
  const f32 = (...shapes: (number | string)[][]) => symbolic(shapes.map((shape) => ({ dtype: "float32" as const, shape }))).xs;

  test("conv2d channel mismatch x=[2,4,8,8] w=[4,3,3,3] names op, expected channels and shapes", () => {
    const [x, w] = f32([2, 4, 8, 8], [4, 3, 3, 3]);
    assertThrowsFields(() => conv2d(x!, w!, conv()), ShapeError, { op: "conv2d", expected: ["3 channels", "[4, 3, 3, 3]"], got: "[2, 4, 8, 8]" });
  });

  test("conv2d grouped channel mismatch x=[1,4,5,5] w=[4,4,3,3] group=2", () => {
    const [x, w] = f32([1, 4, 5, 5], [4, 4, 3, 3]);
    assertThrowsFields(() => conv2d(x!, w!, conv({ group: 2 })), ShapeError, { op: "conv2d", expected: ["8 channels", "group 2"], got: "[1, 4, 5, 5]" });
  });

  test("conv2d output channels not divisible by group", () => {
    const [x, w] = f32([1, 4, 5, 5], [3, 2, 3, 3]);
    assertThrowsFields(() => conv2d(x!, w!, conv({ group: 2 })), ShapeError, { op: "conv2d", expected: "divisible by group 2", got: "3" });
  });

  test("conv2d bias of the wrong length", () => {
    const [x, w, b] = f32([1, 3, 5, 5], [4, 3, 3, 3], [3]);
    assertThrowsFields(() => conv2d(x!, w!, conv(), b), ShapeError, { op: "conv2d", expected: "bias [4]", got: "[3]" });
  });

  test("conv2d kernel larger than the padded input", () => {
    const [x, w] = f32([1, 1, 2, 2], [1, 1, 3, 3]);
    assertThrowsFields(() => conv2d(x!, w!, conv()), ShapeError, { op: "conv2d", expected: "fits" });
  });

  test("conv2d rank-3 input and symbolic spatial dims", () => {
    const [x3, w, xs] = f32([1, 3, 5], [4, 3, 3, 3], [1, 3, "H", 5]);
    assertThrowsFields(() => conv2d(x3!, w!, conv()), ShapeError, { op: "conv2d", got: "[1, 3, 5]" });
    assertThrowsFields(() => conv2d(xs!, w!, conv()), ShapeError, { op: "conv2d", expected: "static spatial" });
  });

  test("conv2d float64 input with float32 weight is a DTypeError", () => {
    const { xs: [x, w] } = symbolic([{ dtype: "float64", shape: [1, 3, 5, 5] }, { dtype: "float32", shape: [4, 3, 3, 3] }]);
    assertThrowsFields(() => conv2d(x!, w!, conv()), DTypeError, { op: "conv2d", got: "float64" });
  });

  test("conv2d in float64 is refused at build time (ONNX Runtime CPU has no float64 Conv)", () => {
    const { xs: [x, w] } = symbolic([{ dtype: "float64", shape: [1, 3, 5, 5] }, { dtype: "float64", shape: [4, 3, 3, 3] }]);
    assertThrowsFields(() => conv2d(x!, w!, conv()), DTypeError, { op: "conv2d", expected: "float32", got: "float64" });
  });

  test("convTranspose2d channel mismatch x=[1,3,4,4] w=[4,2,3,3]", () => {
    const [x, w] = f32([1, 3, 4, 4], [4, 2, 3, 3]);
    assertThrowsFields(() => convTranspose2d(x!, w!, convT()), ShapeError, { op: "convTranspose2d", got: ["[1, 3, 4, 4]", "[4, 2, 3, 3]"] });
  });

  test("conv2d keeps a symbolic batch: x=[B,3,8,8] -> [B,4,4,4]", () => {
    const [x, w] = f32(["B", 3, 8, 8], [4, 3, 3, 3]);
    assert.deepEqual([...conv2d(x!, w!, conv({ strides: [2, 2], pads: [0, 0, 1, 1] })).shape], ["B", 4, 4, 4]);
  });
});

describe("conv2d weight gradient built in chunks", () => {
  test("x=[2,48,171,171] w=[4,48,3,3] pads=1: im2col columns above the chunk bound give the direct-sum dW", async () => {
    const [n, c, h, o] = [2, 48, 171, 4];
    // Precondition: one sample's columns (taps x positions x channels) exceed the bound, so the
    // rule builds them a kernel row at a time; otherwise this case would not test the chunking.
    assert.ok(9 * h * h * c > IM2COL_CHUNK_FLOATS, "case must exceed the im2col chunk bound");
    const rng = new Rng(1818);
    const xv = randn(rng, [n, c, h, h]), dyv = randn(rng, [n, o, h, h]);
    const a = conv({ pads: [1, 1, 1, 1] });
    const g = new Graph();
    const x = g.input("x", "float32", [n, c, h, h]);
    const w = g.input("w", "float32", [o, c, 3, 3]);
    const dy = g.input("dy", "float32", [n, o, h, h]);
    const [dw] = grad(conv2d(x, w, a), [w], { seed: dy });
    const session = await CompiledGraph.create(g, { dw: dw! }, { threads: 2 });
    const got = (await session.run({ x: xv, dy: dyv })).dw!; // dW does not depend on w
    await session.dispose();
    // dW[o, c, i, j] = sum over n, r, q of dY[n, o, r, q] * x[n, c, r + i - 1, q + j - 1].
    const X = xv.data, D = dyv.data, want = new Float64Array(o * c * 9);
    for (let b = 0; b < n; b++) for (let oo = 0; oo < o; oo++) for (let cc = 0; cc < c; cc++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let r = Math.max(0, 1 - i); r < Math.min(h, h + 1 - i); r++) {
        const xRow = ((b * c + cc) * h + r + i - 1) * h - 1 + j, dRow = ((b * o + oo) * h + r) * h;
        for (let q = Math.max(0, 1 - j); q < Math.min(h, h + 1 - j); q++) s += D[dRow + q]! * X[xRow + q]!;
      }
      want[(oo * c + cc) * 9 + i * 3 + j]! += s;
    }
    assertClose(got, ref([o, c, 3, 3], want), { rtol: 1e-4, atol: 1e-3 }, "dW");
  });
});
