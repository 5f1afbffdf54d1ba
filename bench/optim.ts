// What the optimizer costs inside a training step, for the transformer block (3.15M parameters):
//   grads     forward + backward only (loss and the gradient norm fetched: every gradient is computed)
//   fused     TrainState.run: forward + backward + clip + AdamW + EMA in one session (what we ship)
//   fetch     forward + backward fetching every gradient into preallocated host buffers
//   separate  fetch, then clip + AdamW + EMA in a second session fed the fetched gradients
//   jsloop    fetch, then clip + AdamW + EMA as a plain JS loop over the elements
// Rounds interleave the variants and report the best median, since the machine is shared and noisy.
// With PyTorch importable (see bench/engine.ts), the same step is timed there too (clip_grad_norm_ +
// AdamW + EMA, single-tensor and foreach variants).
//
//   npx tsx bench/optim.ts [--batch 2] [--rounds 4] [--reps 5] [--threads 2]

import "../src/node/platform.js";
import { spawnSync } from "node:child_process";
import { Graph, type Tensor } from "../src/engine/graph/tensor.js";
import { HostTensor } from "../src/engine/host-tensor.js";
import { ParamStore } from "../src/engine/params.js";
import { CompiledGraph } from "../src/engine/runtime/session.js";
import { grad } from "../src/engine/autodiff/grad.js";
import { TrainState, adamwStepScalars, adamwUpdate, clipGradNorm, emaUpdate, TOKENIZER_ADAMW, type AdamWConfig } from "../src/engine/optim/index.js";
import { medianMs, transformerBlock, weightedSumLoss, type Workload } from "./workloads.js";
import { findTorchPython } from "./torch-python.js";

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number) => { const i = argv.indexOf(name); return i >= 0 ? Number(argv[i + 1]) : dflt; };
const batch = opt("--batch", 2), rounds = opt("--rounds", 4), reps = opt("--reps", 5), threads = opt("--threads", 2);
const CFG: AdamWConfig = TOKENIZER_ADAMW;
const LR = 1e-4, EMA_RATE = 0.001;

const outBuffers = (outputs: Record<string, Tensor>) =>
  Object.fromEntries(Object.entries(outputs).map(([k, t]) => [k, HostTensor.zeros(t.dtype, t.staticShape())]));

/** Forward + backward; with `fetch`, every gradient is an output, else only the norm. */
async function gradSession(w: Workload, fetch: boolean) {
  const keys = w.graph.trainableKeys();
  const loss = weightedSumLoss(w);
  const grads = grad(loss, keys.map((k) => w.graph.params.get(k)!));
  const outputs: Record<string, Tensor> = { loss };
  if (fetch) keys.forEach((k, i) => { outputs[`grad.${k}`] = grads[i]!; });
  else outputs.gradNorm = clipGradNorm(grads, undefined).norm;
  const c = await CompiledGraph.create(w.graph, outputs, { threads });
  const into = outBuffers(outputs);
  return { run: () => c.run(w.feeds, w.params, into), into };
}

/** clip + AdamW + EMA over fed gradients, with double buffers like TrainState. */
async function updateSession(w: Workload, grads: Record<string, HostTensor>) {
  const g = new Graph();
  const keys = w.graph.trainableKeys();
  const specs = keys.map((k) => w.graph.paramSpecs.get(k)!);
  const ps = specs.map((s) => g.param(s.key, s.shape, s.init));
  const gs = specs.map((s) => g.input(`grad.${s.key}`, "float32", s.shape));
  const scal = { decay: g.input("decay", "float32", []), stepSize: g.input("stepSize", "float32", []), bc2Sqrt: g.input("bc2Sqrt", "float32", []) };
  const rate = g.input("rate", "float32", []);
  const clipped = clipGradNorm(gs, CFG.maxGradNorm);
  const outputs: Record<string, Tensor> = { gradNorm: clipped.norm };
  const feeds: Record<string, HostTensor> = { ...grads };
  specs.forEach((s, i) => {
    const m = g.input(`m.${s.key}`, "float32", s.shape), v = g.input(`v.${s.key}`, "float32", s.shape), e = g.input(`e.${s.key}`, "float32", s.shape);
    const next = adamwUpdate({ param: ps[i]!, m, v }, clipped.grads[i]!, scal, CFG);
    Object.assign(outputs, { [`np.${s.key}`]: next.param, [`nm.${s.key}`]: next.m, [`nv.${s.key}`]: next.v, [`ne.${s.key}`]: emaUpdate(e, next.param, rate) });
    for (const p of ["m", "v", "e"]) feeds[`${p}.${s.key}`] = HostTensor.zeros("float32", s.shape);
  });
  const sc = adamwStepScalars(CFG, LR, 10);
  Object.assign(feeds, { decay: HostTensor.scalar(sc.decay), stepSize: HostTensor.scalar(sc.stepSize), bc2Sqrt: HostTensor.scalar(sc.bc2Sqrt), rate: HostTensor.scalar(EMA_RATE) });
  const c = await CompiledGraph.create(g, outputs, { threads });
  const params = new ParamStore(keys.map((k) => [k, w.params.get(k)!.clone()]));
  const into = outBuffers(outputs);
  return { run: () => c.run(feeds, params, into) };
}

/** The same update as a JS loop over every element (the alternative the graph approach avoids). */
function jsUpdate(w: Workload, grads: Record<string, HostTensor>) {
  const keys = w.graph.trainableKeys();
  const state = keys.map((k) => {
    const p = w.params.get(k)!.data as Float32Array;
    return { p: p.slice(), m: new Float32Array(p.length), v: new Float32Array(p.length), e: p.slice(), g: grads[`grad.${k}`]!.data as Float32Array };
  });
  return async () => {
    let sq = 0;
    for (const s of state) for (let i = 0; i < s.g.length; i++) sq += s.g[i]! * s.g[i]!;
    const coef = Math.min(1, CFG.maxGradNorm! / (Math.sqrt(sq) + 1e-6));
    const sc = adamwStepScalars(CFG, LR, 10);
    for (const s of state) {
      for (let i = 0; i < s.p.length; i++) {
        const g = s.g[i]! * coef;
        const m = (s.m[i] = s.m[i]! + (1 - CFG.beta1) * (g - s.m[i]!));
        const v = (s.v[i] = s.v[i]! * CFG.beta2 + (1 - CFG.beta2) * g * g);
        const p = (s.p[i] = s.p[i]! * sc.decay - (sc.stepSize * m) / (Math.sqrt(v) / sc.bc2Sqrt + CFG.eps));
        s.e[i] = s.e[i]! - EMA_RATE * (s.e[i]! - p);
      }
    }
  };
}

async function main(): Promise<void> {
  const mk = () => transformerBlock(batch);
  const w0 = mk();
  const nParams = w0.graph.trainableKeys().reduce((n, k) => n + w0.params.get(k)!.size, 0);
  console.log(`transformer block batch ${batch}: ${nParams.toLocaleString("en")} parameters in ${w0.graph.trainableKeys().length} tensors, ${threads} threads`);

  const onlyGrads = await gradSession(mk(), false);
  const fetch = await gradSession(mk(), true);
  await fetch.run();
  const grads = Object.fromEntries(Object.entries(fetch.into).filter(([k]) => k.startsWith("grad.")));
  const update = await updateSession(w0, grads);
  const js = jsUpdate(w0, grads);
  const wf = mk();
  const ts = await TrainState.create(weightedSumLoss(wf), wf.params, { adamw: CFG, emaDecay: 0.999, session: { threads } });
  const fused = () => ts.run(wf.feeds, LR);

  const variants: Record<string, () => Promise<unknown>> = {
    grads: onlyGrads.run, fused, fetch: fetch.run, update: update.run, jsloop: js,
  };
  const best: Record<string, number> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(variants)) best[name] = Math.min(best[name] ?? Infinity, await medianMs(fn, 1, reps));
  }
  const b = best as Record<keyof typeof variants, number>;
  console.log(`forward+backward (grads computed, not fetched)   ${b.grads!.toFixed(1)} ms`);
  console.log(`fused step (+ clip + AdamW + EMA in the graph)   ${b.fused!.toFixed(1)} ms   -> update part ${(b.fused! - b.grads!).toFixed(1)} ms`);
  console.log(`forward+backward fetching all gradients          ${b.fetch!.toFixed(1)} ms   -> fetch cost ${(b.fetch! - b.grads!).toFixed(1)} ms`);
  console.log(`  + separate update session                      ${b.update!.toFixed(1)} ms   -> step ${(b.fetch! + b.update!).toFixed(1)} ms`);
  console.log(`  + JS-loop update                               ${b.jsloop!.toFixed(1)} ms   -> step ${(b.fetch! + b.jsloop!).toFixed(1)} ms`);
  await ts.dispose();

  const py = findTorchPython(".");
  if (!py) return;
  const r = spawnSync(py, ["bench/torch_engine.py", "--optim-batch", String(batch), "--rounds", String(rounds), "--reps", String(reps), "--threads", String(threads)], { encoding: "utf8" });
  const t = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number>;
  console.log(`pytorch forward+backward                         ${t.optim_grads!.toFixed(1)} ms`);
  console.log(`pytorch step, AdamW foreach=False                ${t.optim_step!.toFixed(1)} ms   -> update part ${(t.optim_step! - t.optim_grads!).toFixed(1)} ms`);
  console.log(`pytorch step, AdamW foreach=True                 ${t.optim_step_foreach!.toFixed(1)} ms   -> update part ${(t.optim_step_foreach! - t.optim_grads!).toFixed(1)} ms`);
  console.log(`ratio step maskbit fused / pytorch foreach=False  ${(b.fused! / t.optim_step!).toFixed(2)}`);
}

await main();
