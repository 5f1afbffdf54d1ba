// Analytic FLOP count of a graph's dense products (conv, transposed conv, matmul), read from the
// shapes of the nodes the outputs need, and the pure-GEMM ceiling the benches compare against.
// One multiply-add is 2 FLOPs. Elementwise ops, norms and softmax are not counted: on these models
// they are a few percent of the work, so achieved GFLOP/s reads as "dense-product throughput".

import type { Dim, Node, Tensor } from "../src/engine/graph/tensor.js";
import { neededNodes } from "../src/engine/onnx/export.js";
import { CompiledGraph } from "../src/engine/runtime/session.js";
import { matmulWorkload, medianMs } from "./workloads.js";

export interface FlopCount {
  readonly total: number;
  /** FLOPs per engine op name, for the ops above. */
  readonly byOp: Readonly<Record<string, number>>;
}

/** A dimension as a number: "B" or "B*2" resolved through `symbols`. */
function dimValue(d: Dim, symbols: Readonly<Record<string, number>>): number {
  if (typeof d === "number") return d;
  return d.split("*").reduce((p, f) => {
    const v = /^\d+$/.test(f) ? Number(f) : symbols[f];
    if (v === undefined) throw new Error(`bench/flops: no value for the symbolic dimension "${f}" (pass it in symbols)`);
    return p * v;
  }, 1);
}

const size = (t: Tensor, symbols: Readonly<Record<string, number>>) => t.shape.reduce<number>((p, d) => p * dimValue(d, symbols), 1);

/** FLOPs of one node, or undefined for ops that are not dense products. */
function nodeFlops(n: Node, symbols: Readonly<Record<string, number>>): number | undefined {
  const out = n.outputs[0]!;
  const dim = (t: Tensor, i: number) => dimValue(t.shape[i < 0 ? t.rank + i : i]!, symbols);
  switch (n.op.name) {
    case "conv2d": { // each output element: C/group x kH x kW multiply-adds
      const w = n.inputs[1]!;
      return 2 * size(out, symbols) * dim(w, 1) * dim(w, 2) * dim(w, 3);
    }
    case "convTranspose2d": { // each input element scatters into O/group x kH x kW outputs
      const w = n.inputs[1]!;
      return 2 * size(n.inputs[0]!, symbols) * dim(w, 1) * dim(w, 2) * dim(w, 3);
    }
    case "matmul":
    case "reducedMatmul": // [..., M, K] x [K, N]: K multiply-adds per output element
      return 2 * size(out, symbols) * dim(n.inputs[0]!, -1);
    default:
      return undefined;
  }
}

/** Dense-product FLOPs of everything `outputs` needs (one run of the compiled graph). */
export function countFlops(outputs: Readonly<Record<string, Tensor>> | readonly Tensor[], symbols: Readonly<Record<string, number>> = {}): FlopCount {
  const byOp: Record<string, number> = {};
  let total = 0;
  for (const n of neededNodes(Array.isArray(outputs) ? outputs : Object.values(outputs))) {
    const f = nodeFlops(n, symbols);
    if (f === undefined) continue;
    byOp[n.op.name] = (byOp[n.op.name] ?? 0) + f;
    total += f;
  }
  return { total, byOp };
}

export const gflops = (flops: number, ms: number): number => flops / ms / 1e6;

/** Side of the square MatMul whose throughput is the machine's fp32 ceiling (big enough to be compute bound). */
export const PEAK_N = 2048;

export const PEAK_FLOPS = 2 * PEAK_N ** 3;

/** Compiles the [PEAK_N, PEAK_N] x [PEAK_N, PEAK_N] MatMul; the returned function gives its median ms. */
export async function gemmPeakTimer(threads: number, warmup = 1, reps = 3): Promise<() => Promise<number>> {
  const w = matmulWorkload(PEAK_N);
  const c = await CompiledGraph.create(w.graph, { out: w.out }, { threads });
  const feeds = { x: w.feeds.x!, b: w.feeds.b! };
  return () => medianMs(() => c.run(feeds), warmup, reps);
}

/**
 * "123.4 GFLOP/s (56 % of peak)". `peakMs` is the fastest PEAK_N MatMul of the run (either engine):
 * the machine's practical limit, so both engines are read against the same ceiling.
 */
export const peakMsOf = (...results: readonly Readonly<Record<string, number>>[]): number =>
  Math.min(...results.map((r) => r.gemm_peak ?? Infinity));

export function fmtRate(flops: number, ms: number, peakMs: number | undefined): string {
  const peak = peakMs && Number.isFinite(peakMs) ? gflops(PEAK_FLOPS, peakMs) : undefined;
  const r = gflops(flops, ms);
  return `${r.toFixed(1)} GFLOP/s${peak ? ` (${((100 * r) / peak).toFixed(0)} % of peak)` : ""}`;
}
