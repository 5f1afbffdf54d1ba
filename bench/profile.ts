// ONNX Runtime op-level profile of a benchmark workload: where the milliseconds of one run go,
// summed by ONNX op type and by the maskbit op (scope/op#id) that emitted the node.
//
//   npx tsx bench/profile.ts conv|transformer|step [--fwd] [--threads 2] [--reps 5] [--top 25]
// "step" is the transformer block (batch 2) as a whole training step: grad + clip + AdamW + EMA.

import "../src/node/platform.js";
import * as ort from "onnxruntime-node";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportModel } from "../src/engine/onnx/export.js";
import { grad } from "../src/engine/autodiff/grad.js";
import type { Tensor } from "../src/engine/graph/tensor.js";
import { HostTensor } from "../src/engine/host-tensor.js";
import { buildStepGraph } from "../src/engine/optim/train-step.js";
import { TOKENIZER_ADAMW } from "../src/engine/optim/adamw.js";
import { convBlock, transformerBlock, weightedSumLoss, type Workload } from "./workloads.js";

interface TraceEvent { cat: string; name: string; dur: number; args?: { op_name?: string } }

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1]! : dflt; };
const which = argv[0] ?? "conv";
const w: Workload = which === "transformer" ? transformerBlock() : which === "step" ? transformerBlock(2) : convBlock();
let outputs: Record<string, Tensor> = {};
if (which === "step") outputs = buildStepGraph(w.graph, weightedSumLoss(w), w.graph.trainableKeys(), { adamw: TOKENIZER_ADAMW, emaDecay: 0.999 });
else if (argv.includes("--fwd")) outputs.out = w.out;
else {
  const loss = weightedSumLoss(w);
  const keys = w.graph.trainableKeys();
  const grads = grad(loss, [...keys.map((k) => w.graph.params.get(k)!), w.x]);
  outputs.loss = loss;
  grads.forEach((g, i) => { outputs[`g${i}`] = g; });
}
const model = exportModel(w.graph, outputs);
const session = await ort.InferenceSession.create(model.bytes, {
  intraOpNumThreads: Number(opt("--threads", "2")), interOpNumThreads: 1, executionProviders: ["cpu"],
  graphOptimizationLevel: "all", enableProfiling: true, profileFilePrefix: join(tmpdir(), `maskbit-profile-${process.pid}`),
});
const feeds: Record<string, ort.Tensor> = {};
for (const i of model.inputs) {
  // Optimizer state and scalars (step mode) get zeros of their shape; the values do not matter here.
  const v = i.kind === "param" ? w.params.get(i.name)! : w.feeds[i.name] ?? HostTensor.zeros("float32", i.shape as number[]);
  feeds[i.name] = new ort.Tensor("float32", v.data as Float32Array, [...v.shape]);
}
const reps = Number(opt("--reps", "5"));
for (let i = 0; i < reps + 2; i++) await session.run(feeds);
session.endProfiling(); // writes <prefix>_<date>.json and returns nothing
const file = join(tmpdir(), readdirSync(tmpdir()).find((f) => f.startsWith(`maskbit-profile-${process.pid}`))!);
const events = JSON.parse(readFileSync(file, "utf8")) as TraceEvent[];
rmSync(file);
// Node events come as "<node name>_kernel_time"; skip the first two (warmup) runs.
const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run");
const cutoff = runs.length > 2 ? (runs[1] as unknown as { ts: number }).ts + runs[1]!.dur : 0;
const kernels = events.filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time") && (e as unknown as { ts: number }).ts > cutoff);
const byType = new Map<string, number>(), byNode = new Map<string, number>(), byPhase = new Map<string, number>();
for (const e of kernels) {
  const type = e.args?.op_name ?? "?";
  byType.set(type, (byType.get(type) ?? 0) + e.dur / 1000 / reps);
  const node = e.name.replace(/_kernel_time$/, "").replace(/\/[A-Za-z]+\d+$/, "") + ` [${type}]`;
  byNode.set(node, (byNode.get(node) ?? 0) + e.dur / 1000 / reps);
  // Phase: backward nodes live in scope "grad", optimizer nodes in "optim", output copies in "output".
  const head = e.name.split("/")[0]!;
  const phase = ["grad", "optim", "output"].includes(head) ? head : "forward";
  byPhase.set(phase, (byPhase.get(phase) ?? 0) + e.dur / 1000 / reps);
}
const total = [...byType.values()].reduce((a, b) => a + b, 0);
const runMs = runs.slice(2).reduce((a, e) => a + e.dur, 0) / 1000 / Math.max(1, runs.length - 2);
console.log(`${which} ${argv.includes("--fwd") ? "forward" : "forward+backward"}: run ${runMs.toFixed(1)} ms, kernels ${total.toFixed(1)} ms`);
console.log(`  phases: ${[...byPhase].map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(", ")}`);
const top = Number(opt("--top", "25"));
for (const [k, v] of [...byType].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${k.padEnd(28)} ${v.toFixed(2)} ms`);
console.log("by node:");
for (const [k, v] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${v.toFixed(2).padStart(8)} ms  ${k}`);
await session.release();
