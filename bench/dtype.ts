// Reduced-precision generator inference (Generator dtype fp16 / int8) against fp32:
//   1. logit error of one forward pass (relative L2, max abs, argmax agreement over every
//      (position, group)) on a config with random weights at batch 1 (default: the official
//      14-bit config; --config <yaml> for another);
//   2. ms per sampling step per dtype for the shipped Fashion-MNIST generator (batch 8 and 64, with
//      guidance), in alternating rounds so background load hits every dtype alike; the ratios are
//      what to read on a shared machine.
//   3. with --config-steps, ms per sampling step of the --config network itself (batch 1).
// Usage: npm run bench:dtype -- [--config <yaml>] [--skip-logits] [--skip-steps] [--config-steps]
//        [--rounds 3] [--steps 8] [--batches 8,64] [--threads 2]

import "../src/node/platform.js";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { HostTensor } from "../src/engine/host-tensor.js";
import { Generator } from "../src/models/generator/generator.js";
import { loadGeneratorConfig, seqLen, type GeneratorConfig } from "../src/models/generator/config.js";
import type { InferenceDType } from "../src/engine/quant/weights.js";

const { values: a } = parseArgs({
  options: {
    config: { type: "string", default: join(import.meta.dirname, "../../shared/reference/official-configs/generator/maskbit_generator_14bit.yaml") },
    "skip-logits": { type: "boolean", default: false },
    "skip-steps": { type: "boolean", default: false },
    rounds: { type: "string", default: "3" },
    steps: { type: "string", default: "8" },
    threads: { type: "string", default: "2" },
    batches: { type: "string", default: "8,64" },
    /** Also time sampling steps of the --config network (random weights, batch 1, guidance on). */
    "config-steps": { type: "boolean", default: false },
  },
});
const threads = Number(a.threads), rounds = Number(a.rounds), steps = Number(a.steps);
const REDUCED: InferenceDType[] = ["fp16", "int8"];
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(" ");

function compare(ref: Float32Array, got: Float32Array, vocab: number) {
  let num = 0, den = 0, maxAbs = 0, agree = 0, refMax = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = ref[i]! - got[i]!;
    num += d * d; den += ref[i]! ** 2; maxAbs = Math.max(maxAbs, Math.abs(d)); refMax = Math.max(refMax, Math.abs(ref[i]!));
  }
  const rows = ref.length / vocab;
  const arg = (x: Float32Array, r: number) => { let k = 0; for (let j = 1; j < vocab; j++) if (x[r * vocab + j]! > x[r * vocab + k]!) k = j; return k; };
  for (let r = 0; r < rows; r++) if (arg(ref, r) === arg(got, r)) agree++;
  return { relL2: Math.sqrt(num / den), maxAbs, refMaxAbs: refMax, argmaxAgreement: agree / rows };
}

async function logitError(cfg: GeneratorConfig): Promise<void> {
  const t0 = performance.now();
  const base = Generator.random(cfg, 0, { threads });
  const l = seqLen(cfg);
  // Random ids with half of the slots masked: what a mid-sampling step sees.
  let s = 12345;
  const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const ids = HostTensor.i64(Array.from({ length: l }, () => Math.floor(rand() * 2 ** cfg.tokenBits)), [1, l]);
  const mask = new HostTensor("bool", [1, l], Uint8Array.from({ length: l }, () => (rand() < 0.5 ? 1 : 0)));
  const req = { ids, labels: [3], mask };
  const ref = (await base.logits(req)).data as Float32Array;
  await base.dispose();
  const vocab = 2 ** (cfg.tokenBits / cfg.groups);
  console.log(`logit error, ${cfg.tokenBits}-bit config (D ${cfg.hiddenDim}, depth ${cfg.depth}), random weights, batch 1, half the slots masked (${((performance.now() - t0) / 1000).toFixed(0)} s for init + fp32)`);
  for (const dtype of REDUCED) {
    const g = await Generator.load({ config: cfg, params: base.params }, { dtype, session: { threads } });
    const got = (await g.logits(req)).data as Float32Array;
    await g.dispose();
    const c = compare(ref, got, vocab);
    console.log(`  ${dtype}: relative L2 ${c.relL2.toExponential(2)}, max abs ${c.maxAbs.toExponential(2)} (fp32 max |logit| ${c.refMaxAbs.toFixed(2)}), argmax agreement ${(100 * c.argmaxAgreement).toFixed(2)} %`);
  }
}

async function stepTimes(): Promise<void> {
  const dtypes: InferenceDType[] = ["fp32", ...REDUCED];
  const gens = await Promise.all(dtypes.map((dtype) => Generator.load("fmnist", { dtype, session: { threads } })));
  for (const batch of a.batches.split(",").map(Number)) {
    const labels = Array.from({ length: batch }, (_, i) => i % gens[0]!.config.numClasses);
    const ms = new Map<InferenceDType, number[]>(dtypes.map((d) => [d, []]));
    for (const g of gens) await g.sample({ labels, seed: 1, steps: 2 }); // compile + warm up
    for (let r = 0; r < rounds; r++) {
      for (const [i, g] of gens.entries()) {
        const t0 = performance.now();
        await g.sample({ labels, seed: r, steps });
        ms.get(dtypes[i]!)!.push((performance.now() - t0) / steps);
      }
    }
    const best = (d: InferenceDType) => Math.min(...ms.get(d)!);
    console.log(`Fashion-MNIST sampling step, batch ${batch} (guidance on), best of ${rounds} alternating rounds, load ${load()}`);
    for (const d of dtypes) console.log(`  ${d}: ${best(d).toFixed(1)} ms/step  (${(best(d) / best("fp32")).toFixed(2)}x fp32)`);
  }
  await Promise.all(gens.map((g) => g.dispose()));
}

async function configStepTimes(cfg: GeneratorConfig): Promise<void> {
  const base = Generator.random(cfg, 0, { threads });
  const ms: Record<string, number> = {};
  // One dtype at a time (each holds its own sessions); one warm-up step compiles the session.
  for (const dtype of ["fp32", ...REDUCED] as InferenceDType[]) {
    const g = await Generator.load({ config: cfg, params: base.params }, { dtype, session: { threads } });
    await g.sample({ labels: [1], seed: 1, steps: 1 });
    const t0 = performance.now();
    await g.sample({ labels: [1], seed: 2, steps });
    ms[dtype] = (performance.now() - t0) / steps;
    await g.dispose();
  }
  console.log(`${cfg.tokenBits}-bit config sampling step, batch 1 (guidance on: model batch 2), ${steps} steps per dtype, load ${load()}`);
  for (const [d, v] of Object.entries(ms)) console.log(`  ${d}: ${v.toFixed(0)} ms/step  (${(v / ms.fp32!).toFixed(2)}x fp32)`);
}

console.log(`maskbit dtype bench: ${threads} threads, ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), load ${load()}`);
if (!a["skip-logits"]) await logitError(loadGeneratorConfig(a.config));
if (a["config-steps"]) await configStepTimes(loadGeneratorConfig(a.config));
if (!a["skip-steps"]) await stepTimes();
