// `maskbit experiment roadmap`: trains every configs/roadmap step at the budget and evaluates its
// EMA (or raw) weights on held-out test images: rFD-FMNIST (in-domain classifier features), PSNR,
// SSIM and codebook usage, next to the paper's ImageNet rFID (spec 6.1).

import { join } from "node:path";
import { InDomainClassifier } from "../eval/classifier.js";
import type { TokenizerEvalReport } from "../eval/run-tokenizer-eval.js";
import type { Budget } from "./budget.js";
import { barChart } from "./figures.js";
import { fashionMnist } from "./datasets.js";
import type { ExperimentResult, Table } from "./results.js";
import { evalTokenizer, SESSION, tokenizerDoc, tokenizerRun } from "./runs.js";
import { fmtSpread, separation, spread, type Spread } from "./stats.js";

export interface RoadmapStep {
  readonly file: string;
  readonly title: string;
  /** The paper's ImageNet rFID after this step (spec 6.1). */
  readonly paperRfid: number;
}

export const ROADMAP: readonly RoadmapStep[] = [
  { file: "roadmap/00-taming.yaml", title: "0 Taming-VQGAN baseline", paperRfid: 7.94 },
  { file: "roadmap/01-basic-recipe.yaml", title: "1 basic recipe", paperRfid: 7.15 },
  { file: "roadmap/02-capacity.yaml", title: "2 capacity", paperRfid: 4.02 },
  { file: "roadmap/03-perceptual.yaml", title: "3 perceptual loss on logits", paperRfid: 2.40 },
  { file: "roadmap/04-discriminator.yaml", title: "4 discriminator update", paperRfid: 2.00 },
  { file: "roadmap/05-vqgan-plus.yaml", title: "5 VQGAN+ (EMA, entropy, longer)", paperRfid: 1.66 },
  { file: "roadmap/06-lfq.yaml", title: "6 embedding-free (LFQ)", paperRfid: 1.61 },
];

export interface ExperimentContext {
  readonly out: string;
  readonly budget: Budget;
  readonly seeds: number;
  readonly log: (line: string) => void;
}

/** The trained tokenizer of a roadmap step for a seed (trained if missing). */
export async function roadmapTokenizer(ctx: ExperimentContext, step: number, seed: number): Promise<{ model: string; seconds: number; steps: number }> {
  const s = ROADMAP[step]!;
  const doc = tokenizerDoc(s.file, ctx.budget, fashionMnist, (d) => { (d.training as Record<string, unknown>).seed = 42 + seed; });
  return tokenizerRun(doc, join(ctx.out, "runs", `step${step}-seed${seed}`), ctx.log);
}

const METRICS = ["rfd_fmnist", "psnr", "ssim", "codebook_usage"] as const;

export async function runRoadmap(ctx: ExperimentContext): Promise<Omit<ExperimentResult, "wallSeconds" | "machine">> {
  const classifier = InDomainClassifier.load(undefined, { session: SESSION });
  const perStep: { reports: TokenizerEvalReport[]; seconds: number[]; steps: number }[] = [];
  try {
    for (let i = 0; i < ROADMAP.length; i++) {
      const reports: TokenizerEvalReport[] = [], seconds: number[] = [];
      let steps = 0;
      for (let seed = 0; seed < ctx.seeds; seed++) {
        const run = await roadmapTokenizer(ctx, i, seed);
        ctx.log(`evaluating roadmap step ${i} seed ${seed}`);
        reports.push(await evalTokenizer(run.model, classifier, fashionMnist, ctx.budget));
        seconds.push(run.seconds);
        steps = run.steps;
      }
      perStep.push({ reports, seconds, steps });
    }
  } finally {
    await classifier.dispose();
  }
  const stats = perStep.map((p) => Object.fromEntries(METRICS.map((m) => [m, spread(p.reports.map((r) => r[m]))])) as Record<(typeof METRICS)[number], Spread>);
  const rows = ROADMAP.map((s, i) => {
    const st = stats[i]!;
    const vsPrev = i === 0 ? "–" : `${st.rfd_fmnist.mean < stats[i - 1]!.rfd_fmnist.mean ? "better" : "worse"} (${separation(st.rfd_fmnist, stats[i - 1]!.rfd_fmnist)})`;
    return [s.title, perStep[i]!.steps, fmtSpread(st.rfd_fmnist, 3), vsPrev, fmtSpread(st.psnr, 2), fmtSpread(st.ssim, 3), fmtSpread(st.codebook_usage, 3), s.paperRfid,
      Number((perStep[i]!.seconds.reduce((a, b) => a + b, 0) / perStep[i]!.seconds.length / 60).toFixed(1))];
  });
  const table: Table = {
    title: "VQGAN+ roadmap at Fashion-MNIST scale",
    columns: ["step", "train steps", "rFD-FMNIST ↓", "rFD vs previous step", "PSNR ↑", "SSIM ↑", "codebook usage ↑", "paper rFID (ImageNet)", "train min"],
    rows,
    notes: [
      `${ctx.budget.evalImages} test images per evaluation; mean ± sample std over ${ctx.seeds} seed(s).`,
      "'inside seed spread': the difference to the previous step is within the two steps' one-sigma bands.",
      "rFD-FMNIST uses the same in-domain classifier that the perceptual loss uses (see docs/experiments.md).",
    ],
  };
  const figure = "roadmap.png";
  const labels = ROADMAP.map((_, i) => String(i));
  barChart(join(ctx.out, figure), "rFD-FMNIST after each roadmap step (lower is better)", labels, [
    { label: "rFD-FMNIST", means: stats.map((s) => s.rfd_fmnist.mean), stds: stats.map((s) => s.rfd_fmnist.std) },
  ], { yLabel: "rFD-FMNIST" });
  const figure2 = "roadmap-psnr.png";
  barChart(join(ctx.out, figure2), "PSNR (dB) after each roadmap step", labels, [
    { label: "PSNR", means: stats.map((s) => s.psnr.mean), stds: stats.map((s) => s.psnr.std) },
  ], { yLabel: "dB" });
  return {
    experiment: "roadmap", budget: ctx.budget.name, dataset: "fashion-mnist", seeds: ctx.seeds, tables: [table], figures: [figure, figure2],
    details: { perStep: perStep.map((p, i) => ({ step: i, file: ROADMAP[i]!.file, steps: p.steps, trainSeconds: p.seconds, reports: p.reports })) },
  };
}
