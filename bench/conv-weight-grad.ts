// Evidence for the conv weight-gradient rule: the engine's current dW against candidate
// formulations, at the Fashion-MNIST tokenizer's shapes and the engine bench's conv block shape.
//   engine:   the rule in src/engine/ops/conv.ts
//   taps:     the previous rule, one GEMM per tap over shifted (Slice) views of the padded input
//   transposed: the same columns with the GEMM the other way round (dW^T = cols^T x dY channels-last)
//   batched:  the engine's Gather im2col, but one GEMM per sample (dY [N, 1, O, P] x cols
//             [N, taps, P, C]) summed over N, instead of one GEMM over all samples
// Rounds interleave the variants and report the best median (the machine is shared and noisy).
//
//   npx tsx bench/conv-weight-grad.ts [--rounds 4] [--reps 5]

import "../src/node/platform.js";
import { Graph, type Tensor } from "../src/engine/graph/tensor.js";
import { HostTensor } from "../src/engine/host-tensor.js";
import { CompiledGraph } from "../src/engine/runtime/session.js";
import { ParamStore } from "../src/engine/params.js";
import { Rng } from "../src/engine/rng.js";
import { grad } from "../src/engine/autodiff/grad.js";
import { concat, conv2d, gather, matmul, pad, reduceSum, reshape, slice, transpose, transposeLast2, unsqueeze } from "../src/engine/ops/index.js";
import { medianMs, randomTensor } from "./workloads.js";

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number) => { const i = argv.indexOf(name); return i >= 0 ? Number(argv[i + 1]) : dflt; };
const rounds = opt("--rounds", 4), reps = opt("--reps", 5);

interface Case { n: number; c: number; o: number; h: number; k: number; s: number; p: number }
const CASES: Case[] = [
  { n: 16, c: 32, o: 32, h: 32, k: 3, s: 1, p: 1 },
  { n: 16, c: 64, o: 64, h: 16, k: 3, s: 1, p: 1 },
  { n: 16, c: 64, o: 64, h: 8, k: 3, s: 1, p: 1 },
  { n: 16, c: 32, o: 32, h: 32, k: 3, s: 2, p: 1 },
  { n: 8, c: 128, o: 128, h: 32, k: 3, s: 1, p: 1 },
];

// The rule this replaced: one GEMM per tap over shifted views of the padded input (stride 1 only;
// strided convs used a Conv with dY as a large kernel).
function tapsWeightGrad(x: Tensor, dy: Tensor, cs: Case): Tensor {
  const { n, c, o, k, p } = cs;
  const ho = dy.shape[2] as number;
  const xp = pad(x, [0, 0, p, p, 0, 0, p, p]);
  const d = reshape(dy, [n, o, ho * ho]);
  const taps: Tensor[] = [];
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
    const view = reshape(slice(xp, [2, 3], [i, j], [i + ho, j + ho]), [n, c, ho * ho]);
    taps.push(unsqueeze(reduceSum(matmul(d, transposeLast2(view)), [0]), [2]));
  }
  return reshape(concat(taps, 2), [o, c, k, k]);
}

function rowGatherWeightGrad(g: Graph, x: Tensor, dy: Tensor, cs: Case): Tensor {
  const { n, c, o, h, k, s, p } = cs;
  const ho = dy.shape[2] as number;
  const zero = h * h;
  const idx: number[] = [];
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) for (let r = 0; r < ho; r++) for (let q = 0; q < ho; q++) {
    const [y, xx] = [r * s + i - p, q * s + j - p];
    idx.push(y >= 0 && y < h && xx >= 0 && xx < h ? y * h + xx : zero);
  }
  const xl = pad(transposeLast2(reshape(x, [n, c, h * h])), [0, 0, 0, 0, 1, 0]); // [N, HW+1, C]
  const cols = gather(xl, g.constant(HostTensor.i64(idx, [k * k, ho * ho])), 1); // [N, kk, P, C]
  const prod = reduceSum(matmul(unsqueeze(reshape(dy, [n, o, ho * ho]), [1]), cols), [0]); // [kk, O, C]
  return reshape(transpose(prod, [1, 2, 0]), [o, c, k, k]);
}

// The engine's columns, with the GEMM the other way round: dW^T = cols^T [taps*C, N*P] x dY
// channels-last [N*P, O], so the small operand (dY) is the one the GEMM packs.
function transposedWeightGrad(g: Graph, x: Tensor, dy: Tensor, cs: Case): Tensor {
  const { n, c, o, h, k, s, p } = cs;
  const ho = dy.shape[2] as number;
  const idx: number[] = [];
  for (let r = 0; r < ho; r++) for (let q = 0; q < ho; q++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
    const [y, xx] = [r * s + i - p, q * s + j - p];
    idx.push(y >= 0 && y < h && xx >= 0 && xx < h ? y * h + xx : h * h);
  }
  const xl = pad(transposeLast2(reshape(x, [n, c, h * h])), [0, 0, 0, 0, 1, 0]);
  const cols = reshape(gather(xl, g.constant(HostTensor.i64(idx, [ho * ho, k * k])), 1), [n * ho * ho, k * k * c]);
  const dyCl = reshape(transposeLast2(reshape(dy, [n, o, ho * ho])), [n * ho * ho, o]);
  const dwT = matmul(transposeLast2(cols), dyCl); // [taps*C, O]
  return reshape(transpose(reshape(dwT, [k * k, c, o]), [2, 1, 0]), [o, c, k, k]);
}

for (const cs of CASES) {
  const { n, c, o, h, k, s, p } = cs;
  const attrs = { strides: [s, s], pads: [p, p, p, p], dilations: [1, 1], group: 1 } as const;
  const g = new Graph();
  const x = g.input("x", "float32", [n, c, h, h]);
  const w = g.input("w", "float32", [o, c, k, k]);
  const y = conv2d(x, w, attrs);
  const dy = g.input("dy", "float32", y.staticShape());
  const [dwEngine] = grad(y, [w], { seed: dy }) as [Tensor];
  const dwRows = rowGatherWeightGrad(g, x, dy, cs);
  const variants: Record<string, Tensor> = { engine: dwEngine, batched: dwRows, transposed: transposedWeightGrad(g, x, dy, cs) };
  if (s === 1) variants.taps = tapsWeightGrad(x, dy, cs);
  const rng = new Rng(1);
  const feeds: Record<string, HostTensor> = { x: randomTensor([n, c, h, h], rng), w: randomTensor([o, c, k, k], rng, 0.03), dy: randomTensor(y.staticShape(), rng) };
  const runs: Record<string, { run: () => Promise<unknown>; out: HostTensor }> = {};
  for (const [name, t] of Object.entries(variants)) {
    const cg = await CompiledGraph.create(g, { out: t }, { threads: 2 });
    const out = HostTensor.zeros("float32", t.staticShape());
    const f = Object.fromEntries(cg.model.inputs.map((i) => [i.name, feeds[i.name]!]));
    runs[name] = { run: () => cg.run(f, new ParamStore(), { out }), out };
  }
  const best: Record<string, number> = {};
  for (let r = 0; r < rounds; r++) for (const [name, v] of Object.entries(runs)) best[name] = Math.min(best[name] ?? Infinity, await medianMs(v.run, 1, reps));
  const a = runs.engine!.out.data as Float32Array, b = runs.transposed!.out.data as Float32Array;
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i]! - b[i]!)); m = Math.max(m, Math.abs(a[i]!)); }
  console.log(`x [${n},${c},${h},${h}] k${k} s${s} -> ${o}: ${Object.entries(best).map(([nm, ms]) => `${nm} ${ms.toFixed(2)} ms`).join(", ")}; rel diff ${(d / m).toExponential(1)}`);
}
