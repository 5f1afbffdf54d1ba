// Model benchmark (`npm run bench`): the official 10-bit tokenizer at 256x256 and the official
// 14-bit generator config (random weights), and the small Fashion-MNIST models (shipped weights
// when models/fmnist/*.safetensors exist, else random weights from configs/fmnist_*.yaml):
// encode / decode images/s, one sampling step with guidance, one training step (forward + backward
// of the training loss with every parameter gradient fetched), and the peak RSS of each group.
//
// Each model group runs in its own worker process (a clean peak-memory figure per group). When
// PyTorch is importable (./.venv-bench or the system python3), bench/torch_models.py runs the same
// workloads as a second worker; the two are driven alternately, round by round, and each workload
// keeps its best per-round median (the machine is shared and noisy). The ratio maskbit/PyTorch is
// the last line of every workload. The project never needs Python: without torch the ratios are
// skipped. Every workload also prints its achieved GFLOP/s (dense-product FLOPs counted from its
// graph, bench/flops.ts) as a fraction of the pure-GEMM ceiling (gemm_peak: a 2048^3 MatMul timed
// in the same worker, every round), for maskbit and for PyTorch.
//
//   npm run bench -- [--only tok10,gen14,fmnist] [--rounds 2] [--no-torch] [--threads 2]
//                    [--tok-batch 2] [--tok-train-batch 1] [--gen-train-batch 2] [--memory-arena on|off]
// --memory-arena sets SessionOptions.memoryArena for every maskbit session (default: per session
// kind, SESSION_MEMORY_DEFAULTS); off trades step time for a smaller peak (BENCHMARKS.md).

import "../src/node/platform.js";
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { Graph } from "../src/engine/graph/tensor.js";
import { Tokenizer } from "../src/models/tokenizer/tokenizer.js";
import { tokenizer10bit, latentStride, type TokenizerConfig } from "../src/models/tokenizer/config.js";
import { buildDecodeIds, buildEncode, countParameters as countTokenizerParameters } from "../src/models/tokenizer/forward.js";
import { Generator } from "../src/models/generator/generator.js";
import { generator14bit, type GeneratorConfig } from "../src/models/generator/config.js";
import { buildSamplerStep } from "../src/models/generator/sampler.js";
import { countParameters as countGeneratorParameters, generatorParamSpecs } from "../src/models/generator/transformer.js";
import { medianMs } from "./workloads.js";
import type { SessionOptions } from "../src/engine/runtime/session.js";
import { countFlops, fmtRate, gemmPeakTimer, gflops, PEAK_FLOPS, PEAK_N, peakMsOf } from "./flops.js";
import { fmnistModels, generatorTrainStep, ROOT, tokenizerTrainStep, uniformImages } from "./model-steps.js";
import { findTorchPython } from "./torch-python.js";

const GROUPS = ["tok10", "gen14", "fmnist"] as const;
type Group = (typeof GROUPS)[number];

interface Args {
  only: Group[]; rounds: number; threads: number; torch: boolean; memoryArena?: boolean;
  tokBatch: number; tokTrainBatch: number; genTrainBatch: number; fmnistDir: string;
}

function parseArgs(argv: string[]): Args & { worker?: Group } {
  const a: Args & { worker?: Group } = {
    only: [...GROUPS], rounds: 2, threads: 2, torch: true, tokBatch: 2, tokTrainBatch: 1, genTrainBatch: 2, fmnistDir: join(ROOT, "models/fmnist"),
  };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case "--only": a.only = v!.split(",") as Group[]; i++; break;
      case "--rounds": a.rounds = Number(v); i++; break;
      case "--threads": a.threads = Number(v); i++; break;
      case "--tok-batch": a.tokBatch = Number(v); i++; break;
      case "--tok-train-batch": a.tokTrainBatch = Number(v); i++; break;
      case "--gen-train-batch": a.genTrainBatch = Number(v); i++; break;
      case "--fmnist-dir": a.fmnistDir = v!; i++; break;
      case "--no-torch": a.torch = false; break;
      case "--memory-arena":
        if (v !== "on" && v !== "off") throw new Error(`bench/models: --memory-arena takes on or off, got ${v}`);
        a.memoryArena = v === "on"; i++; break;
      case "--worker": a.worker = v as Group; i++; break;
      default: throw new Error(`bench/models: unknown argument ${argv[i]}`);
    }
  }
  for (const g of a.only) if (!GROUPS.includes(g)) throw new Error(`bench/models: unknown group ${g} (groups: ${GROUPS.join(", ")})`);
  return a;
}

// --- workloads (worker side) --------------------------------------------------------------------

/** One timed workload: `time()` returns the median ms of its reps; `items` converts ms to a rate, `flops` to GFLOP/s. */
interface Timed { name: string; label: string; items?: number; flops?: number; time: () => Promise<number> }

async function tokenizerWorkloads(prefix: string, tok: Tokenizer, size: number, batch: number, trainBatch: number, session: SessionOptions, reps: [number, number], trainReps: [number, number]): Promise<Timed[]> {
  const c = tok.config;
  const images = uniformImages([batch, c.numChannels, size, size], 1);
  const { ids } = await tok.encode(images);
  const { step, flops } = await tokenizerTrainStep(tok, size, trainBatch, session);
  // The same graphs Tokenizer.encode / decode compile, built here only to count their FLOPs.
  const ge = new Graph(), gd = new Graph();
  const encodeFlops = countFlops([buildEncode(ge.input("x", "float32", images.shape), c).ids]).total;
  const decodeFlops = countFlops([buildDecodeIds(gd.input("ids", "int64", ids.shape), c)]).total;
  return [
    { name: `${prefix}_encode`, label: `${prefix} encode, batch ${batch}, ${size}x${size}`, items: batch, flops: encodeFlops, time: () => medianMs(() => tok.encode(images), ...reps) },
    { name: `${prefix}_decode`, label: `${prefix} decode, batch ${batch}, ${size}x${size}`, items: batch, flops: decodeFlops, time: () => medianMs(() => tok.decode(ids), ...reps) },
    { name: `${prefix}_train`, label: `${prefix} training step (fwd+bwd, 4*L2 + quantizer loss), batch ${trainBatch}`, flops, time: () => medianMs(step, ...trainReps) },
  ];
}

async function generatorWorkloads(prefix: string, gen: Generator, sampleBatches: number[], trainBatch: number, session: SessionOptions, reps: (b: number) => [number, number], trainReps: [number, number]): Promise<Timed[]> {
  const cfg = gen.config;
  const out: Timed[] = [];
  for (const b of sampleBatches) {
    const labels = Array.from({ length: b }, (_, i) => i % cfg.numClasses);
    const run = () => gen.sample({ labels, steps: 1, seed: 1 });
    await run(); // compile
    const flops = countFlops(buildSamplerStep(cfg, { batch: b, guidance: true, randomness: "seed" }).outputs).total;
    out.push({ name: `${prefix}_sample_b${b}`, label: `${prefix} sampling step with guidance ${cfg.sampling.guidanceScale}, batch ${b} (model on ${2 * b})`, flops, time: () => medianMs(run, ...reps(b)) });
  }
  const { step, flops } = await generatorTrainStep(gen, trainBatch, session);
  out.push({ name: `${prefix}_train`, label: `${prefix} training step (fwd+bwd, masked-bit CE, dropout ${cfg.dropout}), batch ${trainBatch}`, flops, time: () => medianMs(step, ...trainReps) });
  return out;
}

/** The architecture fields bench/torch_models.py needs. */
const torchTokenizer = (c: TokenizerConfig) => ({ numChannels: c.numChannels, hiddenChannels: c.hiddenChannels, channelMult: c.channelMult, numResolutions: c.numResolutions, numResBlocks: c.numResBlocks, tokenSize: c.tokenSize, q: c.quantizer });
const torchGenerator = (c: GeneratorConfig) => ({ tokenBits: c.tokenBits, groups: c.groups, hiddenDim: c.hiddenDim, depth: c.depth, heads: c.heads, mlpDim: c.mlpDim, dropout: c.dropout, numClasses: c.numClasses, tokenGrid: c.tokenGrid, guidanceScale: c.sampling.guidanceScale, randomizeTemperature: c.sampling.randomizeTemperature, labelSmoothing: c.training.labelSmoothing, classLabelDropout: c.training.classLabelDropout });

/** Builds a group's workloads; `spec` is what the PyTorch worker must replicate. */
async function buildGroup(group: Group, a: Args): Promise<{ timed: Timed[]; info: string; spec: object }> {
  const session: SessionOptions = { threads: a.threads, ...(a.memoryArena === undefined ? {} : { memoryArena: a.memoryArena }) };
  if (group === "tok10") {
    const tok = Tokenizer.random(tokenizer10bit, 1, session);
    const timed = await tokenizerWorkloads("tok10", tok, 256, a.tokBatch, a.tokTrainBatch, session, [1, 3], [1, 2]);
    return { timed, info: `tokenizer10bit, ${countTokenizerParameters(tokenizer10bit).toLocaleString("en")} params, random weights`, spec: {} };
  }
  if (group === "gen14") {
    const t0 = performance.now();
    const gen = Generator.random(generator14bit, 1, session);
    const alloc = (performance.now() - t0) / 1000;
    const timed = await generatorWorkloads("gen14", gen, [1, 8], a.genTrainBatch, session, (b) => (b === 1 ? [1, 3] : [1, 2]), [1, 2]);
    return { timed, info: `generator14bit, ${countGeneratorParameters(generatorParamSpecs(generator14bit)).toLocaleString("en")} params, random weights (allocation ${alloc.toFixed(1)} s)`, spec: {} };
  }
  const m = await fmnistModels(a.fmnistDir, session);
  const size = 8 * latentStride(m.tokenizer.config);
  const tok = await tokenizerWorkloads("fmnist_tok", m.tokenizer, size, 64, 16, session, [2, 7], [2, 7]);
  const gen = await generatorWorkloads("fmnist_gen", m.generator, [8, 64], 64, session, () => [2, 7], [2, 7]);
  return {
    timed: [...tok, ...gen],
    info: `${m.source}; tokenizer ${countTokenizerParameters(m.tokenizer.config).toLocaleString("en")} params, generator ${countGeneratorParameters(generatorParamSpecs(m.generator.config)).toLocaleString("en")} params`,
    spec: { tokenizer: torchTokenizer(m.tokenizer.config), generator: torchGenerator(m.generator.config), size },
  };
}

/** Worker: builds the group, then answers "run" (one round of every workload) and "exit" on stdin. */
async function worker(group: Group, a: Args): Promise<void> {
  const send = (o: object) => process.stdout.write(`@@${JSON.stringify(o)}\n`);
  const { timed, info, spec } = await buildGroup(group, a);
  // The ceiling every GFLOP/s figure is read against, timed in each round beside the workloads.
  timed.push({ name: "gemm_peak", label: `pure-GEMM ceiling: ${PEAK_N}^3 MatMul`, flops: PEAK_FLOPS, time: await gemmPeakTimer(a.threads) });
  send({ ready: true, info, spec, workloads: timed.map(({ name, label, items, flops }) => ({ name, label, items, flops })) });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === "run") {
      const res: Record<string, number> = {};
      for (const t of timed) res[t.name] = await t.time();
      send(res);
    } else {
      send({ maxRssMB: process.resourceUsage().maxRSS / 1024 });
      process.exit(0);
    }
  }
}

// --- driver -------------------------------------------------------------------------------------

/** A worker process spoken to by lines: "@@{json}" on its stdout are answers, the rest is passed through. */
class Peer {
  private readonly answers: object[] = [];
  private waiting?: (o: object) => void;
  private failed?: Error;
  private constructor(private readonly child: ChildProcessWithoutNullStreams, readonly name: string) {
    let err = "";
    child.stderr.on("data", (d: Buffer) => { err += d.toString(); });
    createInterface({ input: child.stdout }).on("line", (l) => {
      if (!l.startsWith("@@")) return void console.log(`  [${name}] ${l}`);
      const o = JSON.parse(l.slice(2)) as object;
      if (this.waiting) { const w = this.waiting; this.waiting = undefined; w(o); } else this.answers.push(o);
    });
    child.on("exit", (code) => {
      if (code !== 0) {
        this.failed = new Error(`${name} worker exited with ${code}:\n${err.slice(-4000)}`);
        if (this.waiting) this.waiting({ error: this.failed.message });
      }
    });
  }
  static start(cmd: string, args: string[], name: string): Peer {
    return new Peer(spawn(cmd, args, { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] }), name);
  }
  next(): Promise<Record<string, unknown>> {
    const ready = this.answers.shift();
    if (ready) return Promise.resolve(ready as Record<string, unknown>);
    if (this.failed) return Promise.resolve({ error: this.failed.message });
    return new Promise((resolve) => { this.waiting = resolve as (o: object) => void; });
  }
  async ask(cmd: string): Promise<Record<string, unknown>> {
    this.child.stdin.write(`${cmd}\n`);
    const o = await this.next();
    if ("error" in o) throw new Error(String(o.error));
    return o;
  }
}

const keepBest = (best: Record<string, number>, r: Record<string, unknown>) => {
  for (const [k, v] of Object.entries(r)) if (typeof v === "number") best[k] = Math.min(best[k] ?? Infinity, v);
};

async function driveGroup(group: Group, a: Args, py: string | undefined, argv: string[]): Promise<void> {
  console.log(`\n== ${group} ==`);
  const tsx = join(ROOT, "node_modules/.bin/tsx");
  const t0 = performance.now();
  const ours = Peer.start(tsx, [fileURLToPath(import.meta.url), ...argv, "--worker", group], "maskbit");
  const hello = await ours.next();
  if ("error" in hello) throw new Error(String(hello.error));
  const workloads = hello.workloads as { name: string; label: string; items?: number; flops?: number }[];
  console.log(`${hello.info as string} (worker ready in ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  let theirs: Peer | undefined;
  if (py) {
    theirs = Peer.start(py, [join(ROOT, "bench/torch_models.py"), "--group", group, "--threads", String(a.threads), "--tok-batch", String(a.tokBatch),
      "--tok-train-batch", String(a.tokTrainBatch), "--gen-train-batch", String(a.genTrainBatch), "--spec", JSON.stringify(hello.spec)], "pytorch");
    const h = await theirs.next();
    if ("error" in h) { console.log(`PyTorch worker failed, ratios skipped: ${String(h.error)}`); theirs = undefined; } else console.log(`pytorch: ${h.info as string}`);
  }
  const best: Record<string, number> = {}, bestTorch: Record<string, number> = {};
  const fmt = (r: Record<string, unknown>) => Object.entries(r).map(([k, v]) => `${k} ${(v as number).toFixed(0)}`).join(", ");
  for (let round = 1; round <= a.rounds; round++) {
    const o = await ours.ask("run");
    keepBest(best, o);
    let line = `round ${round}: maskbit ${fmt(o)}`;
    if (theirs) {
      const t = await theirs.ask("run");
      keepBest(bestTorch, t);
      line += ` | pytorch ${fmt(t)}`;
    }
    console.log(`${line}  (load ${(await import("node:os")).loadavg()[0]!.toFixed(1)})`);
  }
  const memOurs = (await ours.ask("exit")).maxRssMB as number;
  const memTheirs = theirs ? (await theirs.ask("exit")).maxRssMB as number : undefined;
  const peakMs = peakMsOf(best, bestTorch);
  console.log(`peak ${gflops(PEAK_FLOPS, peakMs).toFixed(1)} GFLOP/s = the faster ${PEAK_N}^3 MatMul (gemm_peak) of this group's rounds; FLOPs count dense products only (bench/flops.ts)`);
  for (const w of workloads) {
    // One FLOP count (maskbit's graph) for both engines, read against the faster engine's GEMM.
    const rate = (ms: number, peakMs: number | undefined) => (w.items ? `  ${((w.items * 1000) / ms).toFixed(2)} images/s` : "") + (w.flops ? `  ${fmtRate(w.flops, ms, peakMs)}` : "");
    console.log(w.label);
    console.log(`  maskbit  ${best[w.name]!.toFixed(1).padStart(9)} ms${rate(best[w.name]!, peakMs)}`);
    if (bestTorch[w.name] !== undefined) {
      console.log(`  pytorch  ${bestTorch[w.name]!.toFixed(1).padStart(9)} ms${rate(bestTorch[w.name]!, peakMs)}`);
      console.log(`  ratio ${w.name} ${(best[w.name]! / bestTorch[w.name]!).toFixed(2)} (maskbit/pytorch)`);
    }
  }
  console.log(`${group} peak memory (process maxRSS)`);
  console.log(`  maskbit  ${memOurs.toFixed(0).padStart(9)} MB`);
  if (memTheirs !== undefined) {
    console.log(`  pytorch  ${memTheirs.toFixed(0).padStart(9)} MB`);
    console.log(`  ratio ${group}_peak_rss ${(memOurs / memTheirs).toFixed(2)} (maskbit/pytorch)`);
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const a = parseArgs(argv);
  if (a.worker) return worker(a.worker, a);
  const py = a.torch ? findTorchPython(ROOT) : undefined;
  const os = await import("node:os");
  console.log(`maskbit model bench: ${a.threads} threads, best of ${a.rounds} alternating rounds (median per round), ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), memory arena ${a.memoryArena === undefined ? "per session kind" : a.memoryArena ? "on" : "off"}, load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  if (a.torch && !py) console.log("PyTorch not available (python3 -c 'import torch' failed): ratios skipped");
  for (const g of a.only) await driveGroup(g, a, py, argv);
}

await main();
