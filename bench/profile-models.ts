// ONNX Runtime op-level profile of a model workload of bench/models.ts: where the milliseconds of
// one run go, by ONNX op type, by phase (forward / grad) and by model scope.
//
//   npx tsx bench/profile-models.ts tok-train|tok-encode|tok-decode|gen-sample|gen-train
//       [--config tok10|gen14|fmnist] [--size 256] [--batch 1] [--threads 2] [--reps 2] [--depth 3]
//       [--no-profile] [--no-arena] [--no-mem-pattern]   (peak RSS and median run time only, with ORT's arena / memory pattern off)
//       [--resident]   (inference workloads: weights baked into the session as Tokenizer / Generator do, not fed)
//       [--op ReduceSum] [--top 20]   (also the slowest nodes of one op type, with their input shapes)
// (tok-* use the 10-bit tokenizer by default, gen-* the 14-bit generator; --config fmnist the small ones.)

import "../src/node/platform.js";
import * as ort from "onnxruntime-node";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportModel } from "../src/engine/onnx/export.js";
import { grad } from "../src/engine/autodiff/grad.js";
import { Graph, type Tensor } from "../src/engine/graph/tensor.js";
import { HostTensor, shapeSize } from "../src/engine/host-tensor.js";
import { ParamStore } from "../src/engine/params.js";
import { Rng } from "../src/engine/rng.js";
import { add, mul, reduceMean, square, sub } from "../src/engine/ops/index.js";
import { loadTokenizerConfig, tokenizer10bit, latentStride } from "../src/models/tokenizer/config.js";
import { buildDecodeIds, buildEncode, buildTokenizerForward, tokenizerParamSpecs } from "../src/models/tokenizer/forward.js";
import { generator14bit, loadGeneratorConfig, seqLen, maskId } from "../src/models/generator/config.js";
import { buildGeneratorTrainingGraph } from "../src/models/generator/objective.js";
import { buildSamplerStep } from "../src/models/generator/sampler.js";
import { generatorParamSpecs } from "../src/models/generator/transformer.js";

interface TraceEvent { cat: string; name: string; dur: number; ts: number; args?: { op_name?: string; input_type_shape?: Record<string, number[]>[] } }

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1]! : dflt; };
const which = argv[0] ?? "tok-train";
const fmnist = opt("--config", which.startsWith("tok") ? "tok10" : "gen14") === "fmnist";
const batch = Number(opt("--batch", "1"));
const rng = new Rng(5);
const uniform = (shape: number[]) => new HostTensor("float32", shape, Float32Array.from({ length: shapeSize(shape) }, () => rng.uniform()));
const ints = (shape: number[], n: number) => new HostTensor("int64", shape, BigInt64Array.from({ length: shapeSize(shape) }, () => BigInt(rng.int(n))));

const g = new Graph();
let outputs: Record<string, Tensor> = {};
const feeds: Record<string, HostTensor> = {};
let params: ParamStore;
let graph: Graph = g;
if (which.startsWith("tok")) {
  const c = fmnist ? loadTokenizerConfig("configs/fmnist_tokenizer.yaml") : tokenizer10bit;
  const size = Number(opt("--size", fmnist ? "32" : "256"));
  const shape = [batch, c.numChannels, size, size];
  params = ParamStore.init(tokenizerParamSpecs(c), 1);
  if (which === "tok-train") {
    const x = g.input("x", "float32", shape);
    const f = buildTokenizerForward(x, c, { training: true });
    const loss = add(mul(reduceMean(square(sub(x, f.xHat))), 4), f.losses.quantizerLoss);
    const keys = g.trainableKeys();
    outputs = { loss };
    grad(loss, keys.map((k) => g.params.get(k)!)).forEach((t, i) => { outputs[`g${i}`] = t; });
    feeds.x = uniform(shape);
  } else if (which === "tok-encode") {
    outputs = buildEncode(g.input("x", "float32", shape), c);
    feeds.x = uniform(shape);
  } else {
    const s = size / latentStride(c);
    outputs = { images: buildDecodeIds(g.input("ids", "int64", [batch, s, s]), c) };
    feeds.ids = ints([batch, s, s], 2 ** c.tokenSize);
  }
} else {
  const cfg = fmnist ? loadGeneratorConfig("configs/fmnist_generator.yaml") : generator14bit;
  params = ParamStore.init(generatorParamSpecs(cfg), 1);
  if (which === "gen-train") {
    const t = buildGeneratorTrainingGraph(cfg, batch);
    const keys = t.graph.trainableKeys();
    outputs = { loss: t.loss };
    grad(t.loss, keys.map((k) => t.graph.params.get(k)!)).forEach((x, i) => { outputs[`g${i}`] = x; });
    feeds.ids = ints([batch, seqLen(cfg)], 2 ** cfg.tokenBits);
    feeds.labels = ints([batch], cfg.numClasses);
    feeds.seed = HostTensor.scalar(3, "int64");
    graph = t.graph;
  } else {
    const s = buildSamplerStep(cfg, { batch, guidance: true, randomness: "seed" });
    outputs = s.outputs;
    feeds.tokens = new HostTensor("int64", [batch, seqLen(cfg), cfg.groups], new BigInt64Array(batch * seqLen(cfg) * cfg.groups).fill(BigInt(maskId(cfg))));
    feeds.labels = ints([batch], cfg.numClasses);
    for (const k of ["temperature", "randomizeTemperature", "oneMinusProgress", "cfgScale"]) feeds[k] = HostTensor.scalar(1);
    feeds.thresholdIndex = HostTensor.i64(new Array(batch).fill(5));
    feeds.seed = HostTensor.scalar(3, "int64");
    graph = s.graph;
  }
}
await run(graph);

async function run(graph: Graph): Promise<void> {
  const resident = argv.includes("--resident") && !which.endsWith("-train");
  const model = exportModel(graph, outputs, resident ? { embed: params } : {});
  const session = await ort.InferenceSession.create(model.bytes, {
    intraOpNumThreads: Number(opt("--threads", "2")), interOpNumThreads: 1, executionProviders: ["cpu"],
    graphOptimizationLevel: "all", enableCpuMemArena: !argv.includes("--no-arena"), enableMemPattern: !argv.includes("--no-mem-pattern"), enableProfiling: !argv.includes("--no-profile"), profileFilePrefix: join(tmpdir(), `maskbit-mprofile-${process.pid}`),
  });
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const i of model.inputs) {
    const v = i.kind === "param" ? params.get(i.name)! : feeds[i.name]!;
    ortFeeds[i.name] = new ort.Tensor(v.dtype as "float32", v.data as Float32Array, [...v.shape]);
  }
  const reps = Number(opt("--reps", "2"));
  const times: number[] = [];
  for (let i = 0; i < reps + 1; i++) {
    const t0 = performance.now();
    await session.run(ortFeeds);
    if (i > 0) times.push(performance.now() - t0);
  }
  const rssMB = process.resourceUsage().maxRSS / 1024;
  if (argv.includes("--no-profile")) {
    const median = times.sort((a, b) => a - b)[times.length >> 1]!;
    console.log(`${which} batch ${batch}: peak RSS ${rssMB.toFixed(0)} MB, median run ${median.toFixed(1)} ms of ${reps} (arena ${!argv.includes("--no-arena")}, mem pattern ${!argv.includes("--no-mem-pattern")}, weights ${resident ? "resident" : "fed"})`);
    return;
  }
  session.endProfiling();
  const file = join(tmpdir(), readdirSync(tmpdir()).find((f) => f.startsWith(`maskbit-mprofile-${process.pid}`))!);
  const events = JSON.parse(readFileSync(file, "utf8")) as TraceEvent[];
  rmSync(file);
  const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run");
  const cutoff = runs[0]!.ts + runs[0]!.dur; // skip the warmup run
  const kernels = events.filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time") && e.ts > cutoff);
  const depth = Number(opt("--depth", "3"));
  const byType = new Map<string, number>(), byScope = new Map<string, number>(), byPhase = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  for (const e of kernels) {
    const ms = e.dur / 1000 / reps;
    const type = e.args?.op_name ?? "?";
    const parts = e.name.replace(/_kernel_time$/, "").split("/");
    const phase = parts[0] === "grad" ? "grad" : "forward";
    bump(byType, `${phase === "grad" ? "bwd " : "fwd "}${type}`, ms);
    bump(byPhase, phase, ms);
    bump(byScope, `${parts.slice(0, depth).join("/")} [${type}]`, ms);
  }
  const total = [...byType.values()].reduce((a, b) => a + b, 0);
  const runMs = runs.slice(1).reduce((a, e) => a + e.dur, 0) / 1000 / Math.max(1, runs.length - 1);
  console.log(`${which} batch ${batch}: run ${runMs.toFixed(1)} ms, kernels ${total.toFixed(1)} ms, peak RSS ${rssMB.toFixed(0)} MB; ${[...byPhase].map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ")}`);
  for (const [k, v] of [...byType].sort((a, b) => b[1] - a[1]).slice(0, 14)) console.log(`  ${k.padEnd(32)} ${v.toFixed(1).padStart(9)} ms ${(100 * v / total).toFixed(1).padStart(5)} %`);
  console.log("by scope:");
  for (const [k, v] of [...byScope].sort((a, b) => b[1] - a[1]).slice(0, Number(opt("--top", "20")))) console.log(`  ${v.toFixed(1).padStart(9)} ms  ${k}`);
  const only = opt("--op", "");
  if (only) {
    // The slowest nodes of one op type, with their input shapes: which of them to look at.
    console.log(`slowest ${only} nodes:`);
    const nodes = new Map<string, { ms: number; shapes: string }>();
    for (const e of kernels.filter((k) => k.args?.op_name === only)) {
      const shapes = (e.args?.input_type_shape ?? []).map((t) => `[${Object.values(t)[0]!.join(", ")}]`).join(" ");
      const cur = nodes.get(e.name) ?? { ms: 0, shapes };
      nodes.set(e.name, { ms: cur.ms + e.dur / 1000 / reps, shapes });
    }
    for (const [name, n] of [...nodes].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(opt("--top", "20")))) console.log(`  ${n.ms.toFixed(1).padStart(9)} ms  ${name.replace(/_kernel_time$/, "")}  ${n.shapes}`);
  }
  await session.release();
}
