// `maskbit experiment embedding-free`: the paper's Tab. 3a (tokenizer embedding-free or not x
// generator embedding-free or not) and Tab. 3b (groups N = 1, 2, 4) in the paper's 12-bit setting:
// a VQ tokenizer with 4096 codes and an LFQ tokenizer with K = 12 (configs/roadmap/05 and 06 with
// the code count raised to 4096), and generators with identical trunks (configs/fmnist_generator.yaml)
// and budgets that differ only in the input: bits through Linear(K -> D) ("lfq_bert", MaskBit) or
// one learned embedding table per group ("bert", MaskGIT-style). On VQ tokens the bit-input
// generator reads the binary expansion of the codebook index.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { InDomainClassifier } from "../eval/classifier.js";
import type { GeneratorEvalReport } from "../eval/run-generator-eval.js";
import type { ConfigObject } from "../config/yaml.js";
import { barChart } from "./figures.js";
import { ROADMAP, type ExperimentContext } from "./roadmap.js";
import { writeAtomic, type ExperimentResult, type Table } from "./results.js";
import { evalGenerator, generatorDoc, generatorRun, SESSION, tokenizerDoc, tokenizerRun, type DataChoice } from "./runs.js";
import { fmtSpread, separation, spread, type Spread } from "./stats.js";

export const TOKEN_BITS = 12;

interface Cell {
  readonly tokens: "vq" | "lfq";
  readonly arch: "bert" | "lfq_bert";
  readonly groups: number;
  /** The paper's gFID for this cell (Tab. 3a / 3b, ImageNet 256). */
  readonly paper: number;
}

/** Tab. 3a (N = 2), then Tab. 3b's other group counts on LFQ tokens with the bit-input generator. */
export const CELLS: readonly Cell[] = [
  { tokens: "vq", arch: "bert", groups: 2, paper: 2.12 },
  { tokens: "lfq", arch: "bert", groups: 2, paper: 1.95 },
  { tokens: "lfq", arch: "lfq_bert", groups: 2, paper: 1.82 },
  { tokens: "vq", arch: "lfq_bert", groups: 2, paper: 2.83 },
  { tokens: "lfq", arch: "lfq_bert", groups: 1, paper: 1.94 },
  { tokens: "lfq", arch: "lfq_bert", groups: 4, paper: 2.01 },
];

const cellName = (c: Cell) => `${c.tokens}-${c.arch}-n${c.groups}`;

function twelveBits(doc: ConfigObject): void {
  const v = (doc.model as ConfigObject).vq_model as ConfigObject;
  if (v.quantizer_type === "lookup-free") v.token_size = TOKEN_BITS;
  else v.codebook_size = 2 ** TOKEN_BITS;
  v.codebook_size = 2 ** TOKEN_BITS;
}

/**
 * `only` restricts the run to some cells (by name, e.g. "vq-bert-n2"), so that separate processes
 * can train cells side by side; their evaluations are cached in each run directory
 * (eval-seed<k>.json) and a later run over all cells reuses both. A restricted run writes no tables.
 */
export async function runEmbeddingFree(ctx: ExperimentContext, data: DataChoice, only?: readonly string[]): Promise<Omit<ExperimentResult, "wallSeconds" | "machine">> {
  const classifier = InDomainClassifier.load(undefined, { session: SESSION });
  const reports = new Map<string, GeneratorEvalReport[]>();
  const tokenizers: Record<string, { seconds: number; steps: number }> = {};
  let generatorSteps = 0;
  try {
    for (let seed = 0; seed < ctx.seeds; seed++) {
      const tok: Record<"vq" | "lfq", string> = { vq: "", lfq: "" };
      for (const [kind, step] of [["vq", 5], ["lfq", 6]] as const) {
        const doc = tokenizerDoc(ROADMAP[step]!.file, ctx.budget, data, (d) => { twelveBits(d); (d.training as ConfigObject).seed = 42 + seed; });
        const run = await tokenizerRun(doc, join(ctx.out, "runs", `${data.name}-tokenizer-${kind}-seed${seed}`), ctx.log);
        tok[kind] = run.model;
        tokenizers[`${kind}-seed${seed}`] = { seconds: run.seconds, steps: run.steps };
      }
      for (const c of CELLS) {
        if (only && !only.includes(cellName(c))) continue;
        const doc = generatorDoc(ctx.budget, data, { arch: c.arch, groups: c.groups, seed: 42 + seed });
        const dir = join(ctx.out, "runs", `${data.name}-${cellName(c)}-seed${seed}`);
        const run = await generatorRun(doc, tok[c.tokens], dir, ctx.log);
        generatorSteps = run.steps;
        const cached = join(dir, "eval-report.json");
        let r: GeneratorEvalReport;
        if (existsSync(cached)) r = JSON.parse(readFileSync(cached, "utf8")) as GeneratorEvalReport;
        else {
          ctx.log(`evaluating ${cellName(c)} seed ${seed}`);
          r = await evalGenerator(run.model, tok[c.tokens], classifier, data, ctx.budget, 7 + seed);
          writeAtomic(cached, JSON.stringify(r));
        }
        reports.set(cellName(c), [...(reports.get(cellName(c)) ?? []), r]);
      }
    }
  } finally {
    await classifier.dispose();
  }
  if (only) {
    return { experiment: "embedding-free", budget: ctx.budget.name, dataset: data.name, seeds: ctx.seeds, tables: [], figures: [], details: { only, tokenizers } };
  }
  const fd = (c: Cell): Spread => spread(reports.get(cellName(c))!.map((r) => r.fd_fmnist));
  const acc = (c: Cell): Spread => spread(reports.get(cellName(c))!.map((r) => r.class_accuracy));
  const best = CELLS[2]!;
  const accNote = data.classifierInDomain ? "" : " (off-domain classifier)";
  const row = (c: Cell) => [c.tokens === "lfq" ? "LFQ (✓)" : "VQ (✗)", c.arch === "lfq_bert" ? "bits, Linear K→D (✓)" : "learned embedding (✗)", c.groups,
    fmtSpread(fd(c), 3), c === best ? "–" : separation(fd(c), fd(best)), fmtSpread(acc(c), 3), c.paper];
  const columns = ["tokens (embedding-free?)", "generator input (embedding-free?)", "groups N", `gFD-${data.name} ↓${accNote}`, "vs MaskBit cell", `class accuracy ↑${accNote}`, "paper gFID (ImageNet)"];
  const notes = [
    `${TOKEN_BITS}-bit tokens (4096 codes), ${generatorSteps} generator steps, batch ${ctx.budget.generatorBatch}; ${ctx.budget.samplesPerClass} samples per class against ${ctx.budget.evalImages} test images; mean ± sample std over ${ctx.seeds} seed(s) (each seed retrains the tokenizers too).`,
    "'vs MaskBit cell': whether the difference to LFQ tokens + bit input, N = 2, is inside the two cells' one-sigma bands.",
  ];
  const tableA: Table = { title: "Embedding-free tokenizer x embedding-free generator (paper Tab. 3a)", columns, rows: CELLS.slice(0, 4).map(row), notes };
  const groupCells = [CELLS[4]!, CELLS[2]!, CELLS[5]!];
  const tableB: Table = { title: "Number of groups N, LFQ tokens and bit input (paper Tab. 3b)", columns, rows: groupCells.map(row), notes };
  const figure = `embedding-free-${data.name}.png`;
  barChart(join(ctx.out, figure), `gFD-${data.name} per configuration (lower is better)`, CELLS.map(cellName), [
    { label: "gFD", means: CELLS.map((c) => fd(c).mean), stds: CELLS.map((c) => fd(c).std) },
  ], { yLabel: "gFD" });
  return {
    experiment: "embedding-free", budget: ctx.budget.name, dataset: data.name, seeds: ctx.seeds, tables: [tableA, tableB], figures: [figure],
    details: { tokenizers, cells: CELLS.map((c) => ({ ...c, name: cellName(c), reports: reports.get(cellName(c)) })) },
  };
}
