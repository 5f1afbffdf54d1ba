// Scaling bench (`npm run bench:scaling`): how cost grows with work. For the Fashion-MNIST models
// (models/fmnist, shipped weights when present) and the official configs (tokenizer10bit at 256x256,
// generator14bit; random weights): sampling time against batch size (1, 8, 64) and steps (8, 16, 64),
// training step time against batch size, and peak memory against batch size, as markdown tables.
//
// Every point runs in its own worker process, so its peak RSS (process maxRSS) is that point's
// alone. Fashion-MNIST points: 1 warmup + --reps timed runs, median. The official configs are big
// (a 14-bit sampling step at batch 1 takes 10-25 s on 2 cores), so only the --official points run,
// 1 rep each: sampling without warmup, its per-step time taken between step callbacks after the
// first step (which includes session creation), and the 8/16/64-step totals extrapolated from it
// (marked); training with 1 warmup + 1 timed step. Cells not measured say why.
//
//   npm run bench:scaling -- [--configs fmnist,official] [--threads 2] [--reps 3]
//                            [--official sample:1:3,gen-train:1,tok-train:1] [--fmnist-dir models/fmnist]

import "../src/node/platform.js";
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { Tokenizer } from "../src/models/tokenizer/tokenizer.js";
import { latentStride, tokenizer10bit } from "../src/models/tokenizer/config.js";
import { Generator } from "../src/models/generator/generator.js";
import { generator14bit } from "../src/models/generator/config.js";
import { fmnistModels, generatorTrainStep, ROOT, tokenizerTrainStep } from "./model-steps.js";
import { medianMs } from "./workloads.js";
import { countFlops } from "./flops.js";
import { buildSamplerStep } from "../src/models/generator/sampler.js";
import { scalingTables, type Measured, type Point } from "./scaling-tables.js";

const BATCHES = [1, 8, 64], STEPS = [8, 16, 64];
const CONFIGS = ["fmnist", "official"] as const;

interface Args { configs: (typeof CONFIGS)[number][]; threads: number; reps: number; official: Point[]; fmnistDir: string; point?: Point }

function parsePoint(config: Point["config"], s: string): Point {
  const [kind, batch, steps] = s.split(":");
  if (kind !== "sample" && kind !== "gen-train" && kind !== "tok-train") throw new Error(`bench/scaling: unknown point kind "${kind}" (sample:BATCH:STEPS, gen-train:BATCH, tok-train:BATCH)`);
  const p: Point = { config, kind, batch: Number(batch), ...(kind === "sample" ? { steps: Number(steps ?? 3) } : {}) };
  if (!(p.batch >= 1) || (p.steps !== undefined && !(p.steps >= 2))) throw new Error(`bench/scaling: bad point "${s}" (batch >= 1, steps >= 2)`);
  return p;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { configs: [...CONFIGS], threads: 2, reps: 3, official: "sample:1:3,gen-train:1,tok-train:1".split(",").map((s) => parsePoint("official", s)), fmnistDir: join(ROOT, "models/fmnist") };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1]!;
    switch (argv[i]) {
      case "--configs": a.configs = v.split(",") as Args["configs"]; i++; break;
      case "--threads": a.threads = Number(v); i++; break;
      case "--reps": a.reps = Number(v); i++; break;
      case "--official": a.official = v ? v.split(",").map((s) => parsePoint("official", s)) : []; i++; break;
      case "--fmnist-dir": a.fmnistDir = v; i++; break;
      case "--point": a.point = JSON.parse(v) as Point; i++; break;
      default: throw new Error(`bench/scaling: unknown argument ${argv[i]}`);
    }
  }
  for (const c of a.configs) if (!CONFIGS.includes(c)) throw new Error(`bench/scaling: unknown config ${c} (configs: ${CONFIGS.join(", ")})`);
  return a;
}

// --- worker: one point --------------------------------------------------------------------------

async function generatorFor(p: Point, a: Args): Promise<Generator> {
  return p.config === "fmnist" ? (await fmnistModels(a.fmnistDir, { threads: a.threads })).generator : Generator.random(generator14bit, 1, { threads: a.threads });
}

async function tokenizerFor(p: Point, a: Args): Promise<{ tok: Tokenizer; size: number }> {
  if (p.config === "official") return { tok: Tokenizer.random(tokenizer10bit, 1, { threads: a.threads }), size: 256 };
  const tok = (await fmnistModels(a.fmnistDir, { threads: a.threads })).tokenizer;
  return { tok, size: 8 * latentStride(tok.config) };
}

/** Whole sample() calls (tokens only, no decode) and the time between step callbacks after the first. */
async function samplePoint(p: Point, a: Args): Promise<Omit<Measured, "maxRssMB">> {
  const gen = await generatorFor(p, a);
  const labels = Array.from({ length: p.batch }, (_, i) => i % gen.config.numClasses);
  const stepMs: number[] = [];
  const once = async () => {
    const marks: number[] = [];
    await gen.sample({ labels, steps: p.steps!, seed: 1, onStep: () => { marks.push(performance.now()); } });
    stepMs.push((marks.at(-1)! - marks[0]!) / (marks.length - 1));
  };
  const official = p.config === "official";
  const ms = await medianMs(once, official ? 0 : 1, official ? 1 : a.reps);
  stepMs.sort((x, y) => x - y);
  const flops = countFlops(buildSamplerStep(gen.config, { batch: p.batch, guidance: true, randomness: "seed" }).outputs).total;
  return { ms, stepMs: stepMs[stepMs.length >> 1]!, warm: !official, flops };
}

async function trainPoint(p: Point, a: Args): Promise<Omit<Measured, "maxRssMB">> {
  const t = p.kind === "gen-train"
    ? await generatorTrainStep(await generatorFor(p, a), p.batch, { threads: a.threads })
    : await (async () => { const { tok, size } = await tokenizerFor(p, a); return tokenizerTrainStep(tok, size, p.batch, { threads: a.threads }); })();
  return { ms: await medianMs(t.step, 1, p.config === "official" ? 1 : a.reps), warm: true, flops: t.flops };
}

async function worker(p: Point, a: Args): Promise<void> {
  const r = p.kind === "sample" ? await samplePoint(p, a) : await trainPoint(p, a);
  process.stdout.write(`@@${JSON.stringify({ ...r, maxRssMB: process.resourceUsage().maxRSS / 1024 })}\n`);
}

// --- driver -------------------------------------------------------------------------------------

function pointsOf(config: Point["config"], a: Args): Point[] {
  if (config === "official") return a.official;
  return [
    ...BATCHES.flatMap((batch) => STEPS.map((steps): Point => ({ config, kind: "sample", batch, steps }))),
    ...(["gen-train", "tok-train"] as const).flatMap((kind) => BATCHES.map((batch): Point => ({ config, kind, batch }))),
  ];
}

function runPoint(p: Point, argv: string[]): Measured {
  const t0 = performance.now(), load0 = loadavg()[0]!;
  const r = spawnSync(join(ROOT, "node_modules/.bin/tsx"), [fileURLToPath(import.meta.url), ...argv, "--point", JSON.stringify(p)], { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 26 });
  const line = r.stdout?.split("\n").find((l) => l.startsWith("@@"));
  if (r.status !== 0 || !line) throw new Error(`bench/scaling: worker for ${JSON.stringify(p)} failed (status ${r.status}):\n${(r.stderr ?? "").slice(-4000)}`);
  const m = { ...(JSON.parse(line.slice(2)) as Measured), load: [load0, loadavg()[0]!] as [number, number] };
  console.log(`  ${p.config} ${p.kind} batch ${p.batch}${p.steps ? ` steps ${p.steps}` : ""}: ${m.ms.toFixed(0)} ms${m.stepMs ? ` (${m.stepMs.toFixed(1)} ms/step)` : ""}, peak RSS ${m.maxRssMB.toFixed(0)} MB, load ${m.load!.map((l) => l.toFixed(1)).join("->")}, worker ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return m;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const a = parseArgs(argv);
  if (a.point) return worker(a.point, a);
  const passOn = ["--threads", String(a.threads), "--reps", String(a.reps), "--fmnist-dir", a.fmnistDir];
  console.log(`maskbit scaling bench: ${a.threads} threads, one worker process per point, load ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  for (const config of a.configs) {
    const t0 = performance.now();
    console.log(`\n== ${config} ==`);
    const results = pointsOf(config, a).map((p) => ({ point: p, m: runPoint(p, passOn) }));
    console.log(`(${config}: ${((performance.now() - t0) / 60000).toFixed(1)} min)\n`);
    console.log(scalingTables(config, results, { batches: BATCHES, steps: STEPS, reps: config === "official" ? 1 : a.reps, threads: a.threads }));
  }
}

await main();
