// `maskbit experiment <name>`: the paper's experiments at small scale (src/experiments).

import type { Command } from "../command.js";
import { ConfigError } from "../../engine/errors.js";
import { budgetNamed } from "../../experiments/budget.js";
import { EXPERIMENTS, runExperiment } from "../../experiments/run-experiment.js";

const USAGE = [
  `maskbit experiment <${EXPERIMENTS.join("|")}> [--smoke | --budget smoke|small|medium|full] [--out dir] [--seeds n]`,
  "                   [--dataset fashion-mnist|digits] [--digits-csv file] [--roadmap-dir dir]",
  "",
  "  --smoke          the seconds-long size the tests run (same as --budget smoke)",
  "  --budget         small (what docs/experiments.md reports), medium (default) or full (the configs' own steps)",
  "  --out            output directory (default runs/experiments/<name>); finished runs in it are reused",
  "  --seeds          seeds per configuration (default: 1 smoke, 2 medium, 3 full)",
  "  --dataset        digits: the scikit-learn digits from Debian's python3-sklearn (bit-structure, embedding-free)",
  "  --digits-csv     the digits CSV (default /usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz)",
  "  --cells a,b       embedding-free: train and evaluate only these cells (parallel processes); no tables",
  "  --roadmap-dir    bit-structure: reuse the step-5 (VQ) and step-6 (LFQ) tokenizers of a roadmap run",
  "",
  "writes <out>/results.json, <out>/results.md and PNG figures",
].join("\n");

export const experiment: Command = {
  summary: "Run one of the paper's experiments at small scale (roadmap, bit-structure, embedding-free).",
  usage: USAGE,
  async run(argv) {
    let name: string | undefined, out: string | undefined, seeds: number | undefined, budget = "medium", dataset: string | undefined, roadmapDir: string | undefined, digitsCsv: string | undefined, cells: string[] | undefined;
    const value = (i: number, flag: string): string => {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) throw new ConfigError({ op: "experiment", scope: flag, expected: "a value", got: "nothing" });
      return v;
    };
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === "--smoke") budget = "smoke";
      else if (a === "--budget") budget = value(i++, a);
      else if (a === "--out") out = value(i++, a);
      else if (a === "--dataset") dataset = value(i++, a);
      else if (a === "--roadmap-dir") roadmapDir = value(i++, a);
      else if (a === "--digits-csv") digitsCsv = value(i++, a);
      else if (a === "--cells") cells = value(i++, a).split(",");
      else if (a === "--seeds") {
        const v = value(i++, a);
        seeds = Number(v);
        if (!/^\d+$/.test(v)) throw new ConfigError({ op: "experiment", scope: "--seeds", expected: "a positive integer", got: v });
      } else if (a.startsWith("--")) throw new ConfigError({ op: "experiment", expected: "a known option", got: a, hint: USAGE.split("\n")[0] });
      else if (name === undefined) name = a;
      else throw new ConfigError({ op: "experiment", expected: "one experiment name", got: `${name} and ${a}` });
    }
    if (!name) throw new ConfigError({ op: "experiment", expected: `an experiment name (${EXPERIMENTS.join(", ")})`, got: "nothing" });
    const r = await runExperiment({
      name, out: out ?? `runs/experiments/${name}`, budget: budgetNamed(budget), ...(seeds !== undefined ? { seeds } : {}),
      ...(dataset ? { dataset } : {}), ...(roadmapDir ? { roadmapDir } : {}), ...(digitsCsv ? { digitsCsv } : {}), ...(cells ? { cells } : {}),
    });
    console.log(cells ? `finished cells ${cells.join(", ")}` : `wrote ${r.json} and ${r.markdown} (${(r.result.wallSeconds / 60).toFixed(1)} min)`);
    return 0;
  },
};
