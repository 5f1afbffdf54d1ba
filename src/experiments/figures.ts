// Experiment figures as PNG (Chart.js on a headless canvas, as train/plots.ts): grouped bar charts
// with one-sigma whiskers drawn as a second, thin floating bar.

import { createCanvas } from "@napi-rs/canvas";
import { Chart, registerables, type ChartDataset } from "chart.js";
import { writeAtomic } from "./results.js";

Chart.register(...registerables);

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

export interface BarSeries {
  readonly label: string;
  readonly means: readonly number[];
  /** One standard deviation per bar (0 or omitted: no whisker). */
  readonly stds?: readonly number[];
}

export function barChart(path: string, title: string, categories: readonly string[], series: readonly BarSeries[], o: { yLabel?: string; logY?: boolean; width?: number; height?: number } = {}): void {
  const canvas = createCanvas(o.width ?? 900, o.height ?? 420);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const datasets: ChartDataset<"bar", (number | [number, number])[]>[] = [];
  series.forEach((s, i) => {
    datasets.push({ label: s.label, data: s.means.map((m) => (Number.isFinite(m) ? m : 0)), backgroundColor: PALETTE[i % PALETTE.length], stack: `s${i}` });
  });
  series.forEach((s, i) => {
    if (!s.stds?.some((v) => v > 0)) return;
    datasets.push({
      label: `${s.label} ± 1 sd`, data: s.means.map((m, k) => [m - s.stds![k]!, m + s.stds![k]!] as [number, number]),
      backgroundColor: "rgba(0,0,0,0.55)", barPercentage: 0.12, stack: `e${i}`, grouped: true,
    });
  });
  const chart = new Chart(ctx as unknown as CanvasRenderingContext2D, {
    type: "bar",
    data: { labels: [...categories], datasets },
    options: {
      animation: false, responsive: false,
      scales: { y: { type: o.logY ? "logarithmic" : "linear", title: { display: !!o.yLabel, text: o.yLabel ?? "" } } },
      plugins: { title: { display: true, text: title } },
    },
  });
  writeAtomic(path, canvas.toBuffer("image/png"));
  chart.destroy();
}
