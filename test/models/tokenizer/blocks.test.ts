// The building blocks against plain-JS references: the TF-SAME stride-2 padding (bottom/right
// only on even inputs), the residual block's shortcut quirk, and 2x2 average pooling.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { ParamStore } from "../../../src/engine/params.js";
import { avgPool2x2, conv3x3, residualBlock } from "../../../src/models/tokenizer/blocks.js";
import { Rng, asRef, assertClose, randn, refConv2d, runGraph, type Ref } from "../../engine/helpers.js";

/** Random values for every parameter (GroupNorm affine included, so it is exercised). */
function randomParams(g: Graph, seed: number): ParamStore {
  const rng = new Rng(seed);
  return new ParamStore([...g.paramSpecs.values()].map((s) => [s.key, randn(rng, s.shape, 0.3)]));
}

const conv = (x: Ref, w: HostTensor, pads: [number, number, number, number], stride = 1, bias?: HostTensor): Ref =>
  refConv2d(x, asRef(w), { strides: [stride, stride], pads, dilations: [1, 1], group: 1 }, bias && asRef(bias));

function refGroupNormSilu(x: Ref, scale: HostTensor, shift: HostTensor, groups: number): Ref {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const per = (c / groups) * h * w;
  const out = new Float64Array(x.data.length);
  for (let b = 0; b < n; b++)
    for (let grp = 0; grp < groups; grp++) {
      const start = (b * c + grp * (c / groups)) * h * w;
      let mean = 0, sq = 0;
      for (let i = 0; i < per; i++) mean += x.data[start + i]! / per;
      for (let i = 0; i < per; i++) sq += (x.data[start + i]! - mean) ** 2 / per;
      for (let i = 0; i < per; i++) {
        const ch = Math.floor((start + i) / (h * w)) % c;
        const y = ((x.data[start + i]! - mean) / Math.sqrt(sq + 1e-6)) * scale.at(ch) + shift.at(ch);
        out[start + i] = y / (1 + Math.exp(-y));
      }
    }
  return { shape: x.shape, data: out };
}

const addRefs = (a: Ref, b: Ref): Ref => ({ shape: a.shape, data: Array.from(a.data, (v, i) => v + b.data[i]!) });

for (const [size, pads] of [[6, [0, 0, 1, 1]], [5, [1, 1, 1, 1]], [8, [0, 0, 1, 1]]] as const) {
  test(`conv3x3 stride 2 on ${size}x${size}: TF-SAME pads [top,left,bottom,right] = [${pads}]`, async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [1, 2, size, size]);
    const y = g.scope("down", () => conv3x3(x, "down_conv", 2, 3, { bias: true, stride: 2 }));
    assert.deepEqual(y.shape, [1, 3, Math.ceil(size / 2), Math.ceil(size / 2)]);
    const params = randomParams(g, size);
    const xv = randn(new Rng(1), [1, 2, size, size]);
    const got = (await runGraph(g, { y }, { x: xv }, params)).y!;
    assertClose(got, conv(asRef(xv), params.get("down.down_conv.weight")!, [...pads], 2, params.get("down.down_conv.bias")!), { atol: 1e-5 });
  });
}

for (const [cin, cout] of [[32, 64], [64, 64]] as const) {
  test(`residualBlock ${cin}->${cout}: ${cin === cout ? "h + x" : "h + nin_shortcut(h), x dropped"}`, async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, cin, 3, 3]);
    const y = residualBlock(x, "rb", cin, cout);
    const params = randomParams(g, cin + cout);
    const p = (k: string) => params.get(`rb.${k}`)!;
    assert.equal(params.get("rb.nin_shortcut.weight") !== undefined, cin !== cout, "nin_shortcut exists iff channels change");
    const xv = randn(new Rng(7), [2, cin, 3, 3]);
    let h = conv(refGroupNormSilu(asRef(xv), p("norm1.weight"), p("norm1.bias"), 32), p("conv1.weight"), [1, 1, 1, 1]);
    h = conv(refGroupNormSilu(h, p("norm2.weight"), p("norm2.bias"), 32), p("conv2.weight"), [1, 1, 1, 1]);
    const expected = cin === cout ? addRefs(h, asRef(xv)) : addRefs(h, conv(h, p("nin_shortcut.weight"), [0, 0, 0, 0]));
    assertClose((await runGraph(g, { y }, { x: xv }, params)).y!, expected, { atol: 1e-4, rtol: 1e-4 });
    if (cin !== cout) assert.deepEqual(params.get("rb.nin_shortcut.weight")!.shape, [cout, cout, 1, 1]);
  });
}

test("avgPool2x2 on 5x4: floor division drops the odd last row, like avg_pool2d(2, 2)", async () => {
  const g = new Graph();
  const x = g.input("x", "float32", [1, 1, 5, 4]);
  const xv = HostTensor.f32(Array.from({ length: 20 }, (_, i) => i), [1, 1, 5, 4]);
  const got = (await runGraph(g, { y: avgPool2x2(x) }, { x: xv })).y!;
  assertClose(got, { shape: [1, 1, 2, 2], data: [2.5, 4.5, 10.5, 12.5] });
});
