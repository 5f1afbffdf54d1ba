// Peak memory and time of a whole optimizer step (forward, backward, clipping, AdamW, EMA) of the
// official 14-bit generator, for the two update schemes of TrainState (TrainStepOptions
// .fusedUpdateMaxBytes): "fused" (the update in the backward's session, every state tensor held
// twice) and "separate" (gradients into buffers, then the update tensor by tensor), against
// PyTorch's AdamW(foreach=False) + clip_grad_norm_ + an EMA copy on the same model. Each variant
// runs in its own process, so each peak RSS is that variant's alone.
//
//   npm run bench:train-memory -- [--depth 24] [--batch 2] [--steps 3] [--threads 2] [--no-torch]

import "../src/node/platform.js";
import { spawnSync } from "node:child_process";
import { HostTensor } from "../src/engine/host-tensor.js";
import { TrainState, GENERATOR_ADAMW } from "../src/engine/optim/index.js";
import { Generator } from "../src/models/generator/generator.js";
import { generator14bit, seqLen } from "../src/models/generator/config.js";
import { buildGeneratorTrainingGraph } from "../src/models/generator/objective.js";
import { countParameters, generatorParamSpecs } from "../src/models/generator/transformer.js";
import { Rng } from "../src/engine/rng.js";
import { findTorchPython } from "./torch-python.js";

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1]! : dflt; };
const depth = Number(opt("--depth", "24")), batch = Number(opt("--batch", "2")), steps = Number(opt("--steps", "3")), threads = Number(opt("--threads", "2"));
const cfg = { ...generator14bit, depth };

interface Result { variant: string; stepMs: number[]; maxRssMB: number }

async function worker(variant: "fused" | "separate"): Promise<Result> {
  const gen = Generator.random(cfg, 0, { threads });
  const t = buildGeneratorTrainingGraph(cfg, batch);
  const state = await TrainState.create(t.loss, gen.params, {
    adamw: GENERATOR_ADAMW, emaDecay: 0.999, session: { threads }, fusedUpdateMaxBytes: variant === "fused" ? Infinity : 0,
  });
  const rng = new Rng(3);
  const ids = (shape: number[], n: number) => HostTensor.i64(Array.from({ length: shape.reduce((a, b) => a * b) }, () => Math.floor(rng.uniform() * n)), shape);
  const stepMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    const feeds = { ids: ids([batch, seqLen(cfg)], 2 ** cfg.tokenBits), labels: ids([batch], cfg.numClasses), seed: HostTensor.scalar(i, "int64") };
    const t0 = performance.now();
    await state.run(feeds, 1e-4);
    stepMs.push(performance.now() - t0);
  }
  await state.dispose();
  return { variant, stepMs, maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024) };
}

function torchResult(): Result | undefined {
  const py = findTorchPython(".");
  if (!py || argv.includes("--no-torch")) return undefined;
  const spec = JSON.stringify({ ...cfg });
  const r = spawnSync(py, ["bench/torch_train_step.py", "--spec", spec, "--batch", String(batch), "--steps", String(steps), "--threads", String(threads)], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench/torch_train_step.py failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Result;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

if (argv[0] === "--worker") {
  console.log(JSON.stringify(await worker(argv[1] as "fused" | "separate")));
} else {
  const params = countParameters(generatorParamSpecs(cfg));
  console.log(`generator14bit with depth ${depth}: ${params.toLocaleString("en")} trainable parameters (${(params * 4 / 2 ** 20).toFixed(0)} MiB), batch ${batch}, ${steps} steps, ${threads} threads`);
  const results: Result[] = [];
  for (const variant of ["fused", "separate"] as const) {
    const r = spawnSync(process.execPath, ["--import", "tsx", "bench/train-memory.ts", "--worker", variant, ...argv], { encoding: "utf8", maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`worker ${variant} failed:\n${r.stderr}`);
    results.push(JSON.parse(r.stdout.trim().split("\n").pop()!) as Result);
  }
  const torch = torchResult();
  if (torch) results.push(torch);
  const ref = torch ?? results[0]!;
  console.log("| variant | peak RSS | step time (median, after the first) |");
  console.log("|---|---|---|");
  for (const r of results) {
    const later = r.stepMs.length > 1 ? r.stepMs.slice(1) : r.stepMs;
    const ratio = torch && r !== torch ? ` (${(r.maxRssMB / ref.maxRssMB).toFixed(2)}x PyTorch)` : "";
    const tratio = torch && r !== torch ? ` (${(median(later) / median(torch.stepMs.length > 1 ? torch.stepMs.slice(1) : torch.stepMs)).toFixed(2)}x)` : "";
    console.log(`| ${r.variant} | ${r.maxRssMB} MB${ratio} | ${(median(later) / 1000).toFixed(2)} s${tratio} |`);
  }
}
