// The benchmark workloads, written from engine primitives exactly as model code would write them.
// bench/torch_engine.py builds the same computations in PyTorch for the comparison.

import { Graph, type Tensor } from "../src/engine/graph/tensor.js";
import { HostTensor, shapeSize } from "../src/engine/host-tensor.js";
import { ParamStore } from "../src/engine/params.js";
import { Rng } from "../src/engine/rng.js";
import {
  add, conv2d, gelu, groupNorm, layerNorm, matmul, mul, reduceSum, reshape, silu, softmax, split, transpose,
} from "../src/engine/ops/index.js";

export interface Workload {
  readonly graph: Graph;
  /** The block's output (forward benchmark). */
  readonly out: Tensor;
  /** Graph inputs other than parameters: x (differentiated) and r (the loss weighting). */
  readonly x: Tensor;
  readonly r: Tensor;
  readonly feeds: Record<string, HostTensor>;
  readonly params: ParamStore;
}

export function randomTensor(shape: readonly number[], rng: Rng, scale = 1): HostTensor {
  const data = new Float32Array(shapeSize(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * scale;
  return new HostTensor("float32", shape, data);
}

function finish(graph: Graph, out: Tensor, x: Tensor, seed: number): Workload {
  const r = graph.input("r", "float32", out.staticShape());
  const rng = new Rng(seed);
  const feeds = { x: randomTensor(x.staticShape(), rng), r: randomTensor(out.staticShape(), rng) };
  return { graph, out, x, r, feeds, params: ParamStore.init(graph.paramSpecs.values(), seed) };
}

const CONV3 = { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 } as const;

/** GroupNorm(32, 1e-6) -> SiLU -> conv3x3 -> GroupNorm -> SiLU -> conv3x3, plus the residual. */
export function convBlock(batch = 8, ch = 128, size = 32): Workload {
  const g = new Graph();
  const x = g.input("x", "float32", [batch, ch, size, size]);
  const bound = 1 / Math.sqrt(ch * 9);
  const norm = (name: string, h: Tensor) => g.scope(name, () =>
    groupNorm(h, g.param("weight", [ch], { kind: "constant", value: 1 }), g.param("bias", [ch], { kind: "constant", value: 0 }), 32, 1e-6));
  const conv = (name: string, h: Tensor) => g.scope(name, () =>
    conv2d(h, g.param("weight", [ch, ch, 3, 3], { kind: "uniform", bound }), CONV3, g.param("bias", [ch], { kind: "uniform", bound })));
  const h = conv("conv2", silu(norm("norm2", conv("conv1", silu(norm("norm1", x))))));
  return finish(g, add(x, h), x, 1);
}

/**
 * One conv3x3 (stride 1, pad 1, bias) at the Fashion-MNIST tokenizer's shapes: the layer the
 * tokenizer training step spends most of its time in, timed alone so its ratio to PyTorch reads
 * per conv rather than through a whole model.
 */
export function convLayer(batch: number, ch: number, size: number): Workload {
  const g = new Graph();
  const x = g.input("x", "float32", [batch, ch, size, size]);
  const bound = 1 / Math.sqrt(ch * 9);
  const out = g.scope("conv", () => conv2d(x, g.param("weight", [ch, ch, 3, 3], { kind: "uniform", bound }), CONV3, g.param("bias", [ch], { kind: "uniform", bound })));
  return finish(g, out, x, 3);
}

/** The Fashion-MNIST tokenizer's conv3x3 shapes (batch 16, its training batch): [channels, size]. */
export const FMNIST_CONV_SHAPES: readonly (readonly [number, number])[] = [[32, 32], [64, 16], [64, 8]];

/**
 * Post-LN transformer encoder layer (BERT style, as the generator): packed qkv projection, softmax
 * attention, output projection, residual + LayerNorm, exact-GELU MLP, residual + LayerNorm.
 */
export function transformerBlock(batch = 8, tokens = 256, hidden = 512, heads = 8, mlp = 2048): Workload {
  const g = new Graph();
  const x = g.input("x", "float32", [batch, tokens, hidden]);
  const dh = hidden / heads;
  const linear = (name: string, h: Tensor, din: number, dout: number) => g.scope(name, () => {
    const w = g.param("weight", [din, dout], { kind: "normal", std: 0.02, truncate: 0.04 });
    return add(matmul(h, w), g.param("bias", [dout], { kind: "constant", value: 0 }));
  });
  const ln = (name: string, h: Tensor) => g.scope(name, () =>
    layerNorm(h, g.param("weight", [hidden], { kind: "constant", value: 1 }), g.param("bias", [hidden], { kind: "constant", value: 0 }), 1e-12));

  const qkv = linear("attn.in_proj", x, hidden, 3 * hidden);
  // q, k, v cut off the last axis, each [B, T, H, dh] -> [B, H, T, dh] (as src/engine/nn/attention.ts)
  const [qh, k, v] = split(qkv, 2, [hidden, hidden, hidden]).map((p) => transpose(reshape(p, [batch, tokens, heads, dh]), [0, 2, 1, 3])) as [Tensor, Tensor, Tensor];
  const q = mul(qh, 1 / Math.sqrt(dh));
  const att = softmax(matmul(q, transpose(k, [0, 1, 3, 2])), -1);
  const ctx = reshape(transpose(matmul(att, v), [0, 2, 1, 3]), [batch, tokens, hidden]);
  const h1 = ln("norm1", add(x, linear("attn.out_proj", ctx, hidden, hidden)));
  const m = linear("mlp.fc2", gelu(linear("mlp.fc1", h1, hidden, mlp)), mlp, hidden);
  const out = ln("norm2", add(h1, m));
  return finish(g, out, x, 2);
}

/** C = A B with A, B [n, n] (A is `x`; `r` is unused by the forward). */
export function matmulWorkload(n = 1024): Workload {
  const g = new Graph();
  const a = g.input("x", "float32", [n, n]);
  const b = g.input("b", "float32", [n, n]);
  const out = matmul(a, b);
  const rng = new Rng(3);
  return { graph: g, out, x: a, r: b, feeds: { x: randomTensor([n, n], rng), b: randomTensor([n, n], rng) }, params: new ParamStore() };
}

/** loss = sum(out * r): every output element gets a distinct cotangent. */
export function weightedSumLoss(w: Workload): Tensor {
  return reduceSum(mul(w.out, w.r));
}

/** Median of `reps` timed calls after `warmup` untimed ones, in milliseconds. */
export async function medianMs(fn: () => Promise<unknown>, warmup: number, reps: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  return times.length % 2 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
}
