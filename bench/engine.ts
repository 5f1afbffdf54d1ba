// Engine benchmark: median milliseconds of the conv block, the transformer block (forward and
// forward + backward) and a 1024^3 matmul on ONNX Runtime, two intra-op threads. When PyTorch is
// importable (./.venv-bench or the system python3) the same workloads run in bench/torch_engine.py and
// the maskbit / PyTorch ratios are printed as the last lines. The project never needs Python.
// The machines are shared and noisy (2x swings between runs are common), so the whole comparison is
// repeated for --rounds rounds, alternating maskbit and PyTorch, and each workload reports the best
// of its per-round medians. Every workload also reads as GFLOP/s (dense-product FLOPs counted from
// its graph, bench/flops.ts) next to the pure-GEMM ceiling measured in the same run (the "peak" group:
// a 2048^3 MatMul in each engine), so "fast" is a fraction of the machine's limit too.
//
//   npm run bench:engine -- [--reps 10] [--warmup 3] [--rounds 3] [--threads 2]
//                           [--only conv,transformer,matmul,peak,convs] [--optimization all|basic|disabled] [--no-torch]
// "convs" (not in the default set) times one conv3x3 at each of the Fashion-MNIST tokenizer's shapes
// (batch 16: 32 channels at 32x32, 64 at 16x16, 64 at 8x8), forward and forward + backward.

import "../src/node/platform.js";
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { HostTensor } from "../src/engine/host-tensor.js";
import { CompiledGraph, type SessionOptions } from "../src/engine/runtime/session.js";
import { grad } from "../src/engine/autodiff/grad.js";
import type { Tensor } from "../src/engine/graph/tensor.js";
import { convBlock, convLayer, FMNIST_CONV_SHAPES, matmulWorkload, medianMs, transformerBlock, weightedSumLoss, type Workload } from "./workloads.js";
import { countFlops, fmtRate, gflops, PEAK_FLOPS, PEAK_N, peakMsOf } from "./flops.js";
import { findTorchPython } from "./torch-python.js";

interface Args { reps: number; warmup: number; rounds: number; threads: number; only: string[]; optimization: SessionOptions["optimization"]; torch: boolean }

function parseArgs(argv: string[]): Args {
  const a: Args = { reps: 10, warmup: 3, rounds: 3, threads: 2, only: ["conv", "transformer", "matmul", "peak"], optimization: "all", torch: true };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case "--reps": a.reps = Number(v); i++; break;
      case "--warmup": a.warmup = Number(v); i++; break;
      case "--rounds": a.rounds = Number(v); i++; break;
      case "--threads": a.threads = Number(v); i++; break;
      case "--only": a.only = v!.split(","); i++; break;
      case "--optimization": a.optimization = v as Args["optimization"]; i++; break;
      case "--no-torch": a.torch = false; break;
      default: throw new Error(`bench/engine: unknown argument ${argv[i]}`);
    }
  }
  return a;
}

/** Preallocated output buffers, so the timed loop measures the engine rather than allocation. */
function buffers(outputs: Record<string, Tensor>): Record<string, HostTensor> {
  return Object.fromEntries(Object.entries(outputs).map(([k, t]) => [k, HostTensor.zeros(t.dtype, t.staticShape())]));
}

/** A compiled workload: `time()` gives its median ms each time it is called; `flops` is one run's work. */
interface Timer { time: () => Promise<number>; flops: number }

async function prepare(w: Workload, outputs: Record<string, Tensor>, args: Args): Promise<Timer> {
  const c = await CompiledGraph.create(w.graph, outputs, { threads: args.threads, optimization: args.optimization });
  const into = buffers(outputs);
  const feeds = Object.fromEntries(c.model.inputs.filter((i) => i.kind === "input").map((i) => [i.name, w.feeds[i.name]!]));
  return { time: () => medianMs(() => c.run(feeds, w.params, into), args.warmup, args.reps), flops: countFlops(outputs).total };
}

/** Forward + backward: the loss and the gradients of every parameter and of the input. */
function backwardOutputs(w: Workload): Record<string, Tensor> {
  const loss = weightedSumLoss(w);
  const keys = w.graph.trainableKeys();
  const wrt = [...keys.map((k) => w.graph.params.get(k)!), w.x];
  const grads = grad(loss, wrt);
  const outputs: Record<string, Tensor> = { loss };
  grads.forEach((g, i) => { outputs[`grad.${i < keys.length ? keys[i] : "x"}`] = g; });
  return outputs;
}

type Results = Record<string, number>;
type Group = "conv" | "transformer" | "matmul" | "peak" | "convs";

/** Timers per result name for one workload group, compiled once and reused by every round. */
async function prepareGroup(group: Group, args: Args): Promise<Record<string, Timer>> {
  if (group === "matmul" || group === "peak") {
    const w = group === "matmul" ? matmulWorkload() : matmulWorkload(PEAK_N);
    return { [group === "matmul" ? "matmul" : "gemm_peak"]: await prepare(w, { out: w.out }, args) };
  }
  if (group === "convs") {
    const timers: Record<string, Timer> = {};
    for (const [ch, size] of FMNIST_CONV_SHAPES) {
      const f = convLayer(16, ch, size), b = convLayer(16, ch, size);
      timers[`conv${ch}_${size}_fwd`] = await prepare(f, { out: f.out }, args);
      timers[`conv${ch}_${size}_fwd_bwd`] = await prepare(b, backwardOutputs(b), args);
    }
    return timers;
  }
  const make = group === "conv" ? () => convBlock() : () => transformerBlock();
  const f = make(), b = make();
  return { [`${group}_fwd`]: await prepare(f, { out: f.out }, args), [`${group}_fwd_bwd`]: await prepare(b, backwardOutputs(b), args) };
}

function runTorch(py: string, root: string, args: Args, group: Group): Results {
  const r = spawnSync(py, [join(root, "bench/torch_engine.py"), "--reps", String(args.reps), "--warmup", String(args.warmup),
    "--threads", String(args.threads), "--only", group, "--conv-shapes", JSON.stringify(FMNIST_CONV_SHAPES)], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) throw new Error(`bench/torch_engine.py failed with status ${r.status}:\n${r.stderr}`);
  const last = r.stdout.trim().split("\n").pop()!;
  return JSON.parse(last) as Results;
}

const fmt = (r: Results) => Object.entries(r).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ");
const keepBest = (best: Results, r: Results) => { for (const [k, v] of Object.entries(r)) best[k] = Math.min(best[k] ?? Infinity, v); };

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const py = args.torch ? findTorchPython(root) : undefined;
  console.log(`maskbit engine bench: ${args.threads} threads, ${args.warmup} warmup + ${args.reps} reps, median ms, best of ${args.rounds} rounds, graph optimization ${args.optimization}, load ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  if (args.torch && !py) console.log("PyTorch not available (python3 -c 'import torch' failed): ratios skipped");
  const groups = (["conv", "transformer", "matmul", "peak", "convs"] as const).filter((g) => args.only.includes(g));
  const timers = Object.fromEntries(await Promise.all(groups.map(async (g) => [g, await prepareGroup(g, args)] as const)));
  const ours: Results = {}, theirs: Results = {};
  for (let round = 1; round <= args.rounds; round++) {
    // Alternate per workload group so both engines see similar background load.
    for (const g of groups) {
      const o: Results = {};
      for (const [name, t] of Object.entries(timers[g]!)) o[name] = await t.time();
      keepBest(ours, o);
      const t = py ? runTorch(py, root, args, g) : undefined;
      if (t) keepBest(theirs, t);
      console.log(`round ${round} ${g}: maskbit ${fmt(o)}${t ? ` | pytorch ${fmt(t)}` : ""}  (load ${loadavg()[0]!.toFixed(1)})`);
    }
  }
  // Both engines run the same computation, so one FLOP count serves both, read against one ceiling:
  // the faster engine's GEMM (the machine's practical fp32 limit).
  const flops = Object.fromEntries(Object.values(timers).flatMap((t) => Object.entries(t!).map(([k, v]) => [k, v.flops])));
  const show = (who: string, r: Results) => {
    for (const [k, v] of Object.entries(r)) console.log(`${who} ${k.padEnd(20)} ${v.toFixed(1).padStart(8)} ms  ${fmtRate(flops[k]!, v, peakMs)}`);
  };
  const peakMs = peakMsOf(ours, theirs);
  if (Number.isFinite(peakMs)) console.log(`peak ${gflops(PEAK_FLOPS, peakMs).toFixed(1)} GFLOP/s = the faster ${PEAK_N}^3 MatMul (gemm_peak) of this run; FLOPs count dense products only (bench/flops.ts)`);
  show("maskbit", ours);
  if (!py) return;
  show("pytorch", theirs);
  for (const k of Object.keys(ours)) {
    if (theirs[k] !== undefined) console.log(`ratio ${k.padEnd(20)} ${(ours[k]! / theirs[k]!).toFixed(2)} (maskbit/pytorch)`);
  }
}

await main();
