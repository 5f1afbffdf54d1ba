// Loss curves as PNG files, drawn by Chart.js on a headless canvas (@napi-rs/canvas). Both are
// optional dependencies, needed only here: a missing one is named when training starts.

import type { ChartDataset } from "chart.js";
import { writeFileAtomic } from "../node/atomic-file.js";
import { optionalImport } from "../node/optional-import.js";

const { createCanvas } = await optionalImport<typeof import("@napi-rs/canvas")>("@napi-rs/canvas", "training plots");
const { Chart, registerables } = await optionalImport<typeof import("chart.js")>("chart.js", "training plots");

Chart.register(...registerables);

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

export interface Series {
  readonly label: string;
  readonly points: readonly (readonly [step: number, value: number])[];
}

/** Writes a line chart of the series (log-scale y when `logY`) to `path` atomically. */
export function plotCurves(path: string, title: string, series: readonly Series[], opts: { logY?: boolean; width?: number; height?: number } = {}): void {
  const canvas = createCanvas(opts.width ?? 900, opts.height ?? 450);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const datasets: ChartDataset<"line", { x: number; y: number }[]>[] = series.map((s, i) => ({
    label: s.label,
    data: s.points.filter(([, y]) => Number.isFinite(y) && (!opts.logY || y > 0)).map(([x, y]) => ({ x, y })),
    borderColor: PALETTE[i % PALETTE.length],
    backgroundColor: PALETTE[i % PALETTE.length],
    borderWidth: 1.5,
    pointRadius: 0,
  }));
  const chart = new Chart(ctx as unknown as CanvasRenderingContext2D, {
    type: "line",
    data: { datasets },
    options: {
      animation: false,
      responsive: false,
      parsing: false,
      scales: { x: { type: "linear", title: { display: true, text: "step" } }, y: { type: opts.logY ? "logarithmic" : "linear" } },
      plugins: { title: { display: true, text: title } },
    },
  });
  try {
    writeFileAtomic(path, canvas.toBuffer("image/png"));
  } finally {
    chart.destroy();
  }
}

/** A moving average, so noisy per-step losses read as a curve. */
export function smooth(points: readonly (readonly [number, number])[], window: number): [number, number][] {
  const out: [number, number][] = [];
  let sum = 0;
  for (let i = 0; i < points.length; i++) {
    sum += points[i]![1];
    if (i >= window) sum -= points[i - window]![1];
    out.push([points[i]![0], sum / Math.min(i + 1, window)]);
  }
  return out;
}
