// Evidence for an ops change: the engine's conv2d VJP against two formulations written from
// primitives, for one 3x3 stride-1 conv (batch 8, 128 -> 128 channels, 32x32), two threads.
//   dW engine: Conv of x viewed [C, N, H, W] with dY viewed [O, N, H, W] as a 32x32 kernel
//   dW im2col: the 9 shifted views of padded x concatenated to [N, 9C, HW], one batched GEMM
//              dY [N, O, HW] x cols^T, summed over N
//   dX engine: ConvTranspose(dY, W)
//   dX flip:   Conv(dY, W transposed to [C, O] with the 3x3 taps reversed), stride 1 only
// Rounds interleave the variants and report the best median (the machine is shared and noisy).
//
//   npx tsx bench/conv-backward.ts [--rounds 4] [--reps 5]

import "../src/node/platform.js";
import { Graph, type Tensor } from "../src/engine/graph/tensor.js";
import { HostTensor } from "../src/engine/host-tensor.js";
import { CompiledGraph } from "../src/engine/runtime/session.js";
import { ParamStore } from "../src/engine/params.js";
import { Rng } from "../src/engine/rng.js";
import { grad } from "../src/engine/autodiff/grad.js";
import { concat, conv2d, gather, matmul, pad, reduceSum, reshape, slice, transpose, transposeLast2 } from "../src/engine/ops/index.js";
import { medianMs, randomTensor } from "./workloads.js";

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number) => { const i = argv.indexOf(name); return i >= 0 ? Number(argv[i + 1]) : dflt; };
const rounds = opt("--rounds", 4), reps = opt("--reps", 5);
const [N, C, O, H] = [8, 128, 128, 32];
const CONV3 = { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 } as const;

const g = new Graph();
const x = g.input("x", "float32", [N, C, H, H]);
const w = g.input("w", "float32", [O, C, 3, 3]);
const dy = g.input("dy", "float32", [N, O, H, H]);
const y = conv2d(x, w, CONV3);
const [dxEngine, dwEngine] = grad(y, [x, w], { seed: dy }) as [Tensor, Tensor];

const xp = pad(x, [0, 0, 1, 1, 0, 0, 1, 1]);
const shifted: Tensor[] = [];
for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) shifted.push(slice(xp, [2, 3], [i, j], [i + H, j + H]));
const cols = reshape(concat(shifted, 1), [N, 9 * C, H * H]);
const dwFlat = reduceSum(matmul(reshape(dy, [N, O, H * H]), transposeLast2(cols)), [0]); // [O, 9C], taps major
const dwIm2col = reshape(transpose(reshape(dwFlat, [O, 9, C]), [0, 2, 1]), [O, C, 3, 3]);

const reversedTaps = g.constant(HostTensor.i64([8, 7, 6, 5, 4, 3, 2, 1, 0]));
const wFlipped = reshape(transpose(gather(reshape(w, [O, C, 9]), reversedTaps, 2), [1, 0, 2]), [C, O, 3, 3]);
const dxFlip = conv2d(dy, wFlipped, CONV3);

const rng = new Rng(1);
const feeds: Record<string, HostTensor> = { x: randomTensor([N, C, H, H], rng), w: randomTensor([O, C, 3, 3], rng, 0.03), dy: randomTensor([N, O, H, H], rng) };
const variants: Record<string, Tensor> = { forward: y, dwEngine, dwIm2col, dxEngine, dxFlip };
const runs: Record<string, { run: () => Promise<unknown>; out: HostTensor }> = {};
for (const [name, t] of Object.entries(variants)) {
  const c = await CompiledGraph.create(g, { out: t }, { threads: 2 });
  const out = HostTensor.zeros("float32", t.staticShape());
  const f = Object.fromEntries(c.model.inputs.map((i) => [i.name, feeds[i.name]!]));
  runs[name] = { run: () => c.run(f, new ParamStore(), { out }), out };
}
const best: Record<string, number> = {};
for (let r = 0; r < rounds; r++) {
  for (const [name, v] of Object.entries(runs)) best[name] = Math.min(best[name] ?? Infinity, await medianMs(v.run, 1, reps));
}
const relDiff = (a: HostTensor, b: HostTensor) => {
  let d = 0, s = 0;
  const p = a.data as Float32Array, q = b.data as Float32Array;
  for (let i = 0; i < p.length; i++) { d = Math.max(d, Math.abs(p[i]! - q[i]!)); s = Math.max(s, Math.abs(p[i]!)); }
  return (d / s).toExponential(1);
};
for (const [name, ms] of Object.entries(best)) console.log(`${name.padEnd(10)} ${ms.toFixed(1)} ms`);
console.log(`max |diff| / max |value|: dW ${relDiff(runs.dwEngine!.out, runs.dwIm2col!.out)}, dX ${relDiff(runs.dxEngine!.out, runs.dxFlip!.out)}`);
