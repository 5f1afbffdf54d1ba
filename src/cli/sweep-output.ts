// The sampling sweep's outputs: JSON, a Markdown table, a stacked-bar PNG of each setting's score
// (its FD plus the weighted accuracy / precision / recall terms), and a copy of the generator file
// with the best setting stored as its sampling defaults. Every file is written atomically.

import { optionalImport } from "../node/optional-import.js";
import { writeFileAtomic } from "../node/atomic-file.js";
import { checkOutputFile } from "./outputs.js";
import { ConfigError } from "../engine/errors.js";
import { Generator } from "../models/generator/generator.js";
import type { SweepResult, SweepSetting } from "../eval/sampling-sweep.js";

const { createCanvas } = await optionalImport<typeof import("@napi-rs/canvas")>("@napi-rs/canvas", "sweep plots");
const { Chart, registerables } = await optionalImport<typeof import("chart.js")>("chart.js", "sweep plots");

Chart.register(...registerables);

export const writeAtomic = writeFileAtomic;

export const settingLabel = (s: SweepSetting): string => `T${s.steps} g${s.guidanceScale} p${s.scalePow} t${s.randomizeTemperature}`;

/** Stacked bars per setting: fd, w_acc (1 - acc), w_prec (1 - prec), w_rec (1 - rec); their sum is the score. */
export function plotSweep(path: string, r: SweepResult): void {
  const canvas = createCanvas(Math.max(600, 90 * r.rows.length + 200), 480);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const w = r.weights;
  const parts: [string, string, (i: number) => number][] = [
    ["gFD-FMNIST", "#1f77b4", (i) => r.rows[i]!.fd_fmnist],
    [`${w.accuracy} x (1 - class accuracy)`, "#d62728", (i) => w.accuracy * (1 - r.rows[i]!.class_accuracy)],
    [`${w.precision} x (1 - precision)`, "#2ca02c", (i) => w.precision * (1 - r.rows[i]!.precision)],
    [`${w.recall} x (1 - recall)`, "#ff7f0e", (i) => w.recall * (1 - r.rows[i]!.recall)],
  ];
  const labels = r.rows.map((row, i) => `${settingLabel(row.setting)}${i === r.best ? " *" : ""}${row.is_default ? " (default)" : ""}`);
  const chart = new Chart(ctx as unknown as CanvasRenderingContext2D, {
    type: "bar",
    data: { labels, datasets: parts.filter(([, , f]) => r.rows.some((_, i) => f(i) !== 0)).map(([label, color, f]) => ({ label, backgroundColor: color, data: r.rows.map((_, i) => f(i)) })) },
    options: {
      animation: false, responsive: false,
      scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: "score (lower is better)" } } },
      plugins: { title: { display: true, text: `Sampling sweep, ${r.samples} samples per setting (* = best)` } },
    },
  });
  writeAtomic(path, canvas.toBuffer("image/png"));
  chart.destroy();
}

/**
 * Writes a copy of `input` whose stored sampling defaults are `s` (weights, class names and every
 * other setting unchanged). Never writes over the input; an existing file only with `force`.
 */
export async function writeGeneratorWithDefaults(input: string, out: string, s: SweepSetting, force = false): Promise<void> {
  checkDefaultsTarget(input, out, force);
  const g = await Generator.load(input);
  try {
    const config = { ...g.config, sampling: { ...g.config.sampling, ...s } };
    const copy = await Generator.load({ config, params: g.params, ...(g.classNames ? { classNames: g.classNames } : {}) });
    copy.save(out); // writeSafetensors: temp file + rename
    await copy.dispose();
  } finally {
    await g.dispose();
  }
}

/** Throws unless `out` may be written: never the input generator, an existing file only with `force`. */
export function checkDefaultsTarget(input: string, out: string, force: boolean): void {
  checkOutputFile(out, { command: "sweep", flag: "write-defaults", inputs: [input], force });
}
