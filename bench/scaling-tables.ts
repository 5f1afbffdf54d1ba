// Markdown tables of bench/scaling.ts results. A cell is measured, extrapolated (marked "~", with
// what it was extrapolated from) or says why it is empty; nothing is filled in silently.

import { gflops } from "./flops.js";

export interface Point {
  readonly config: "fmnist" | "official";
  readonly kind: "sample" | "gen-train" | "tok-train";
  readonly batch: number;
  /** Sampling steps (sample points only). */
  readonly steps?: number;
}

export interface Measured {
  /** Median ms of one whole call (sample() of all steps, or one training step). */
  readonly ms: number;
  /** Sampling: median ms per step, timed between step callbacks after the first step. */
  readonly stepMs?: number;
  /** Whether `ms` was timed after a warmup run (else it includes session creation). */
  readonly warm: boolean;
  /** Dense-product FLOPs of one training step, or of one sampling step. */
  readonly flops?: number;
  readonly maxRssMB: number;
  /** Load average (1 min) when the worker started and ended. */
  readonly load?: readonly [number, number];
}

export interface Result { readonly point: Point; readonly m: Measured }

/** Points slower than this are not worth running on the 2-core machine (the brief's limit). */
const SKIP_MS = 180_000;

const fmtMs = (ms: number) => (ms < 1000 ? `${ms.toFixed(ms < 100 ? 1 : 0)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`);
const row = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
const header = (cells: readonly string[]) => [row(cells), row(cells.map(() => "---"))];

/** The measured point of `kind` at `batch` with the largest batch below it, for lower bounds and extrapolation. */
function below(rs: readonly Result[], kind: Point["kind"], batch: number): Result | undefined {
  return rs.filter((r) => r.point.kind === kind && r.point.batch < batch).sort((x, y) => y.point.batch - x.point.batch)[0];
}

function sampleCell(rs: readonly Result[], batch: number, steps: number): string {
  const exact = rs.find((r) => r.point.kind === "sample" && r.point.batch === batch && r.point.steps === steps && r.m.warm);
  if (exact) return fmtMs(exact.m.ms);
  const same = rs.find((r) => r.point.kind === "sample" && r.point.batch === batch);
  if (same) return `~${fmtMs(same.m.stepMs! * steps)}`;
  const lower = below(rs, "sample", batch);
  if (lower && lower.m.stepMs! * steps > SKIP_MS) return `skipped (> ${fmtMs(lower.m.stepMs! * steps)}: a step at batch ${lower.point.batch} times ${steps})`;
  return "not measured";
}

function trainCell(rs: readonly Result[], kind: Point["kind"], batch: number): string {
  const exact = rs.find((r) => r.point.kind === kind && r.point.batch === batch);
  if (exact) {
    const f = exact.m.flops ? `, ${gflops(exact.m.flops, exact.m.ms).toFixed(1)} GFLOP/s` : "";
    return `${fmtMs(exact.m.ms)} (${fmtMs(exact.m.ms / batch)}/image${f})`;
  }
  const lower = below(rs, kind, batch);
  if (!lower) return "not measured";
  const est = (lower.m.ms * batch) / lower.point.batch;
  return est > SKIP_MS ? `skipped (~${fmtMs(est)}, linear from batch ${lower.point.batch})` : `~${fmtMs(est)} (linear from batch ${lower.point.batch})`;
}

function memoryCell(rs: readonly Result[], kind: Point["kind"], batch: number): string {
  const at = rs.filter((r) => r.point.kind === kind && r.point.batch === batch);
  return at.length ? `${Math.max(...at.map((r) => r.m.maxRssMB)).toFixed(0)} MB` : "not measured";
}

export function scalingTables(config: Point["config"], rs: readonly Result[], o: { batches: number[]; steps: number[]; reps: number; threads: number }): string {
  const loads = rs.flatMap((r) => r.m.load ?? []);
  const load = loads.length ? `load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}` : "load not recorded";
  const names = config === "fmnist" ? { gen: "Fashion-MNIST generator", tok: "Fashion-MNIST tokenizer" } : { gen: "generator14bit (random weights)", tok: "tokenizer10bit at 256x256 (random weights)" };
  const timing = config === "fmnist"
    ? `median of ${o.reps} runs after 1 warmup`
    : "1 run each: sampling without warmup (per-step time between step callbacks after the first step, which includes session creation), training after 1 warmup step";
  const perStep = (b: number) => {
    const m = rs.find((r) => r.point.kind === "sample" && r.point.batch === b)?.m;
    return m ? `${fmtMs(m.stepMs!)}${m.flops ? ` (${gflops(m.flops, m.stepMs!).toFixed(1)} GFLOP/s)` : ""}` : "-";
  };
  const lines = [
    `**${names.gen}: sampling time** (whole \`sample()\` with guidance, so the model runs on 2 x batch; tokens only, no decode), ${o.threads} threads, ${timing}, ${load}:`,
    "",
    ...header(["batch", ...o.steps.map((s) => `${s} steps`), "per step (dense GFLOP/s)"]),
    ...o.batches.map((b) => row([String(b), ...o.steps.map((s) => sampleCell(rs, b, s)), perStep(b)])),
    "",
    `**Training step time** (forward + backward, every parameter gradient fetched; ms per image and dense-product GFLOP/s in brackets):`,
    "",
    ...header(["batch", names.gen, names.tok]),
    ...o.batches.map((b) => row([String(b), trainCell(rs, "gen-train", b), trainCell(rs, "tok-train", b)])),
    "",
    `**Peak memory** (maxRSS of the point's own worker process; sampling: the largest over its step counts):`,
    "",
    ...header(["batch", "sampling", "generator training", "tokenizer training"]),
    ...o.batches.map((b) => row([String(b), memoryCell(rs, "sample", b), memoryCell(rs, "gen-train", b), memoryCell(rs, "tok-train", b)])),
    "",
    "\"~\": extrapolated, not measured (sampling: steps x the per-step time measured at that batch; training: linear in batch from the largest measured smaller batch). " +
      `"skipped": the estimate exceeds ${SKIP_MS / 60000} minutes, too long for a 2-core machine. "not measured": not in this run's points.`,
  ];
  return lines.join("\n");
}
