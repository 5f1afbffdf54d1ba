// One entry point for every experiment: budget and seeds, wall time, and the results files.

import { mkdirSync } from "node:fs";
import { cpus } from "node:os";
import { ConfigError } from "../engine/errors.js";
import type { Budget } from "./budget.js";
import { runRoadmap, type ExperimentContext } from "./roadmap.js";
import { runBitStructure } from "./bit-structure.js";
import { runEmbeddingFree } from "./embedding-free.js";
import { writeResults, type ExperimentResult } from "./results.js";
import { datasetNamed } from "./datasets.js";

export const EXPERIMENTS = ["roadmap", "bit-structure", "embedding-free"] as const;
export type ExperimentName = (typeof EXPERIMENTS)[number];

export interface ExperimentOptions {
  readonly name: string;
  readonly out: string;
  readonly budget: Budget;
  readonly seeds?: number;
  /** "fashion-mnist" (default) or "digits" (bit-structure and embedding-free only). */
  readonly dataset?: string;
  /** A roadmap output directory whose step-5 (VQ) and step-6 (LFQ) tokenizers bit-structure reuses. */
  readonly roadmapDir?: string;
  /** The digits CSV (default: where Debian's python3-sklearn installs it). */
  readonly digitsCsv?: string;
  /** embedding-free: only these cells (names like "lfq-lfq_bert-n2"); no tables are written. */
  readonly cells?: readonly string[];
  readonly log?: (line: string) => void;
}

export async function runExperiment(o: ExperimentOptions): Promise<{ result: ExperimentResult; json: string; markdown: string }> {
  if (!(EXPERIMENTS as readonly string[]).includes(o.name)) {
    throw new ConfigError({ op: "experiment", scope: "<name>", expected: `one of ${EXPERIMENTS.join(", ")}`, got: JSON.stringify(o.name) });
  }
  const seeds = o.seeds ?? o.budget.defaultSeeds;
  if (!(Number.isInteger(seeds) && seeds >= 1 && seeds <= 10)) throw new ConfigError({ op: "experiment", scope: "--seeds", expected: "an integer in 1..10", got: String(o.seeds) });
  const dataset = o.dataset ?? "fashion-mnist";
  if (o.name === "roadmap" && dataset !== "fashion-mnist") {
    throw new ConfigError({ op: "experiment", scope: "--dataset", expected: "fashion-mnist for the roadmap (its rFD needs the in-domain classifier)", got: dataset });
  }
  const ctx: ExperimentContext = { out: o.out, budget: o.budget, seeds, log: o.log ?? ((l) => process.stderr.write(`${l}\n`)) };
  mkdirSync(o.out, { recursive: true });
  const t0 = Date.now();
  const partial = o.name === "roadmap" ? await runRoadmap(ctx)
    : o.name === "bit-structure" ? await runBitStructure(ctx, await datasetNamed(dataset, o.out, o.digitsCsv), o.roadmapDir)
    : await runEmbeddingFree(ctx, await datasetNamed(dataset, o.out, o.digitsCsv), o.cells);
  const machine = `${cpus().length} CPU core(s) (${cpus()[0]?.model ?? "unknown"}), ONNX Runtime CPU, 1 thread per session`;
  const result: ExperimentResult = { ...partial, wallSeconds: (Date.now() - t0) / 1000, machine };
  if (o.cells) return { result, json: "", markdown: "" };
  return { result, ...writeResults(o.out, result) };
}
