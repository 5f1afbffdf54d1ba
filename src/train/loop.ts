// The loop both trainers share: resume from the newest checkpoint, step, log, sample, save, stop
// on a non-finite loss. It owns the run directory's bookkeeping; a Trainer owns the models and
// sessions and knows how to take one step and how to serialise itself.
//
// Run directory:
//   checkpoint-<step>.safetensors + latest.json   full training state (checkpoint.ts)
//   <model>.safetensors                            inference weights (EMA when used), refreshed at each save
//   metrics.jsonl, loss-*.png                      per-step scalars and their curves
//   samples/step-<step>.png                        reconstructions or generated samples
//   recipe.json                                    the effective recipe (after command-line overrides)

import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { HostTensor } from "../engine/host-tensor.js";
import { ConfigError, MaskbitError } from "../engine/errors.js";
import type { ConfigObject, ConfigValue } from "../config/yaml.js";
import { fmtTime } from "../node/progress.js";
import { checkpointFiles, loadLatestRunState, saveRunState } from "./checkpoint.js";
import { cleanOrphanedTemps, ORPHANED_TEMP, writeFileAtomic } from "../node/atomic-file.js";
import { MetricsLog } from "./metrics-log.js";
import { plotCurves, smooth } from "./plots.js";
import type { ExperimentSettings } from "./recipe.js";
import { BestCheckpoint, type Selection } from "./best-checkpoint.js";
import { finishTime, RunClock } from "./eta.js";

/** What a run reports after every step (and once at its start). */
export interface TrainProgress {
  /** The trainer's label ("tokenizer", "generator", ...). */
  readonly label: string;
  readonly step: number;
  readonly total: number;
  /** The step the run (re)started at. */
  readonly start: number;
  readonly loss?: number;
  /** Estimated seconds to the end of the whole run (evaluations and saves included). */
  readonly etaSeconds?: number;
}

/** Scalars of one step; `loss` is the headline figure (progress bar, divergence check). */
export type StepMetrics = { readonly loss: number } & Readonly<Record<string, number>>;

/** The scalar (single-element) outputs of a training step, as numbers, except `skip`. */
export function scalarOutputs(outputs: Readonly<Record<string, HostTensor>>, skip: readonly string[] = []): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(outputs)) if (!skip.includes(k) && v.size === 1) out[k] = v.at(0);
  return out;
}

export interface TrainerSnapshot<Meta> {
  readonly tensors: ReadonlyMap<string, ReadonlyMap<string, HostTensor>>;
  readonly meta: Meta;
}

export interface PlotGroup {
  readonly file: string;
  readonly title: string;
  readonly keys: readonly string[];
  /** Logarithmic y axis, for positive losses that shrink by orders of magnitude. */
  readonly logY?: boolean;
}

export interface Trainer<Meta> {
  /** Shown on the progress bar. */
  readonly label: string;
  readonly totalSteps: number;
  readonly plots: readonly PlotGroup[];
  /** Runs iteration `step` (0-based: the number of steps completed before it). */
  step(step: number): Promise<StepMetrics>;
  snapshot(): TrainerSnapshot<Meta>;
  /** Continues from a checkpoint written by snapshot() after `step` steps. */
  restore(step: number, snapshot: TrainerSnapshot<Meta>): Promise<void>;
  /** Held-out metrics, logged with the step's record (e.g. reconstruction PSNR). */
  evaluate?(): Promise<Record<string, number>>;
  /** The evaluation metric that picks <run>/best/ (best-checkpoint.ts); none: no selection. */
  readonly selection?: Selection;
  writeSamples(path: string): Promise<void>;
  /** Writes the inference file(s) into `dir`; returns the main path. */
  exportModel(dir: string): Promise<string>;
  dispose(): Promise<void>;
}

export interface LoopOptions {
  readonly out: string;
  /** The effective recipe: stored in every checkpoint and compared on resume. */
  readonly recipe: ConfigObject;
  readonly experiment: ExperimentSettings;
  readonly resume: boolean;
  /** Pause cleanly (with a checkpoint) once this many steps are done. */
  readonly stopAfter?: number;
  /**
   * Progress events, one per step (the CLI renders them as a terminal bar with progressBar());
   * false or absent: none. The trainers never write to a terminal themselves.
   */
  readonly progress?: ((e: TrainProgress) => void) | false;
  /** Called after each completed step; a throw ends the run like a crash (nothing is saved). */
  readonly onStep?: (done: number, metrics: StepMetrics) => void | Promise<void>;
  readonly log?: (line: string) => void;
  /**
   * When aborted (e.g. by the CLI on SIGINT) the loop finishes the step in progress, writes a
   * checkpoint and returns with `interrupted` set.
   */
  readonly signal?: AbortSignal;
}

export interface LoopResult {
  /** Steps completed when the loop ended. */
  readonly step: number;
  readonly finished: boolean;
  readonly resumedFrom: number | null;
  /** Wall time of this invocation's steps and saves. */
  readonly seconds: number;
  readonly modelPath: string | null;
  /** Stopped early through `signal` (after saving a checkpoint at `step`). */
  readonly interrupted: boolean;
  /** The newest checkpoint when the loop ended, if any. */
  readonly lastCheckpoint: string | null;
}

/** A file-system failure during a run (disk full, permissions): the last checkpoint still stands. */
export class RunIoError extends MaskbitError {}

interface RunMeta<Meta> {
  readonly recipe: ConfigObject;
  readonly trainer: Meta;
  /** Training wall time summed over all invocations, for the model card. */
  readonly elapsedSeconds: number;
}

/** A loss or gradient norm that is NaN or infinite: the run stops and keeps its last checkpoint. */
export class DivergedError extends MaskbitError {
  constructor(readonly step: number, bad: string, readonly lastCheckpoint: string | null) {
    super({
      op: "training", scope: `step ${step}`, expected: "finite losses and gradient norms", got: bad,
      hint: lastCheckpoint
        ? `nothing was saved after the divergence; the last good checkpoint is ${lastCheckpoint}. Lower the learning rate (e.g. optimizer.params.learning_rate=...) and rerun with --resume`
        : "no checkpoint was written before the divergence; lower the learning rate and start again",
    });
  }
}

/**
 * Recipe keys that may change when a run resumes: bookkeeping that does not affect the numbers,
 * and the learning rates (the way out of a divergence: lower them and resume the last checkpoint).
 */
const RESUMABLE_CHANGES = [
  "experiment.save_every", "experiment.eval_every", "experiment.generate_every", "experiment.log_every",
  "experiment.keep_checkpoints", "experiment.project", "experiment.logger", "experiment.resume", "dataset.params.data_dir",
  "optimizer.params.learning_rate", "optimizer.params.discriminator_learning_rate",
];

/** What a run directory may hold: the loop's own files (see the top of this file). */
function isRunFile(name: string): boolean {
  return /^checkpoint-\d+\.safetensors$/.test(name) || ORPHANED_TEMP.test(name) || /\.png$/.test(name) ||
    ["latest.json", "recipe.json", "metrics.jsonl", "samples", "tokenizer.safetensors", "generator.safetensors", "tokens.safetensors", "best"].includes(name);
}

/**
 * Creates the run directory, or checks an existing one: it must be empty, or a run directory
 * (only the loop's own files) and then only with `resume`; anything else is refused so a wrong
 * --out never mixes with, or overwrites, other files. Removes temporary files a killed run left.
 * Returns whether a checkpoint is there. Call it before expensive setup so a wrong --out fails at once.
 */
export function prepareRunDirectory(out: string, resume: boolean, log: (line: string) => void = () => {}): boolean {
  if (existsSync(out) && !statSync(out).isDirectory()) {
    throw new ConfigError({ op: "train", scope: out, expected: "a run directory", got: "a file", hint: "choose another --out" });
  }
  // An empty samples/ is what an earlier call of this function made: still an empty run directory.
  const entries = (existsSync(out) ? readdirSync(out) : []).filter((n) => !(n === "samples" && statSync(join(out, n)).isDirectory() && readdirSync(join(out, n)).length === 0));
  const foreign = entries.filter((n) => !isRunFile(n));
  if (foreign.length) {
    throw new ConfigError({ op: "train", scope: out, expected: "an empty directory or a maskbit run directory", got: `other files (${foreign.slice(0, 3).join(", ")}${foreign.length > 3 ? ", ..." : ""})`, hint: "choose a new --out (e.g. runs/<name>)" });
  }
  const hasRun = existsSync(join(out, "latest.json")) || checkpointFiles(out).length > 0;
  // The token cache (checked against its tokenizer when read) and leftover temporaries are not an earlier run.
  const earlier = entries.filter((n) => n !== "tokens.safetensors" && !ORPHANED_TEMP.test(n));
  if (earlier.length && !resume) {
    throw new ConfigError({ op: "train", scope: out, expected: "an empty run directory", got: hasRun ? "an existing run (checkpoints)" : "files of an earlier run without a checkpoint", hint: "pass --resume to continue it, or choose another --out" });
  }
  mkdirSync(join(out, "samples"), { recursive: true });
  const orphans = cleanOrphanedTemps(out);
  if (orphans.length) log(`note: removed ${orphans.length} temporary file(s) left by an interrupted write (${orphans.join(", ")})`);
  return hasRun;
}

/** Wraps a file-system failure of the loop's bookkeeping so the message says what still stands. */
function ioFailure(e: unknown, step: number, lastCheckpoint: string | null): unknown {
  const code = (e as { code?: unknown }).code;
  const text = e instanceof Error ? e.message : String(e);
  if (typeof code !== "string" && !/\bE[A-Z]{2,}\b:/.test(text)) return e;
  return new RunIoError({
    op: "training", scope: `after step ${step}`, expected: "the run's files to be writable", got: text.split("\n")[0]!,
    hint: lastCheckpoint ? `the last complete checkpoint is ${lastCheckpoint}; fix the problem (free space?) and rerun with --resume` : "no checkpoint was written yet; fix the problem and start again",
  });
}

export async function runTraining<Meta>(trainer: Trainer<Meta>, o: LoopOptions): Promise<LoopResult> {
  const log = o.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const exp = o.experiment;
  const hasRun = prepareRunDirectory(o.out, o.resume, log);
  const metrics = new MetricsLog(join(o.out, "metrics.jsonl"));
  let start = 0, elapsedBefore = 0, lastCheckpoint: string | null = null, resumedFrom: number | null = null;
  const saved = hasRun ? loadLatestRunState<RunMeta<Meta>>(o.out, log) : undefined;
  if (saved) {
    for (const change of checkSameRecipe(saved.meta.recipe, o.recipe, o.out)) log(`note: ${change} since the checkpoint`);
    await trainer.restore(saved.step, { tensors: saved.tensors, meta: saved.meta.trainer });
    start = resumedFrom = saved.step;
    elapsedBefore = saved.meta.elapsedSeconds;
    lastCheckpoint = saved.path;
    metrics.truncateAfter(start);
    log(`resuming ${o.out} at step ${start} of ${trainer.totalSteps}`);
  } else {
    if (o.resume) log(`nothing to resume in ${o.out}; starting a new run`);
    metrics.truncateAfter(-1);
  }
  writeFileAtomic(join(o.out, "recipe.json"), JSON.stringify(o.recipe, null, 2) + "\n");
  const best = trainer.selection && trainer.evaluate ? new BestCheckpoint(o.out, trainer.selection, saved !== undefined) : null;
  const clock = new RunClock(trainer.totalSteps);
  const timed = async <T>(task: string, f: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try { return await f(); } finally { clock.task(task, (performance.now() - t) / 1000); }
  };

  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const report = o.progress || undefined;
  report?.({ label: trainer.label, step: start, total: trainer.totalSteps, start });
  let modelPath: string | null = null;
  const save = async (done: number) => {
    lastCheckpoint = saveRunState(o.out, { step: done, ...snapshotWith(trainer, o.recipe, elapsedBefore + seconds()) }, exp.keepCheckpoints);
    modelPath = await trainer.exportModel(o.out);
    drawPlots(trainer.plots, metrics, o.out);
  };

  let done = start;
  const end = o.stopAfter !== undefined && o.stopAfter > start ? Math.min(o.stopAfter, trainer.totalSteps) : o.stopAfter !== undefined ? start : trainer.totalSteps;
  let interrupted = false;
  for (let step = start; step < end; step++) {
    const stepStart = performance.now();
    const m = await trainer.step(step);
    clock.step((performance.now() - stepStart) / 1000);
    const bad = Object.entries(m).filter(([, v]) => !Number.isFinite(v));
    if (bad.length) throw new DivergedError(step + 1, bad.map(([k, v]) => `${k} = ${v}`).join(", "), lastCheckpoint);
    done = step + 1;
    const last = done === trainer.totalSteps;
    const every = (n: number) => done % n === 0 || last;
    const stop = o.signal?.aborted === true;
    try {
      let record: Record<string, number> = { step: done, ...m, seconds_per_step: (performance.now() - stepStart) / 1000 };
      const evaluated = trainer.evaluate !== undefined && every(exp.evalEvery);
      if (evaluated) record = { ...record, ...(await timed("eval", () => trainer.evaluate!())) };
      // Eval results are always logged, whatever log_every says.
      if (every(exp.logEvery) || evaluated) metrics.append(record as { step: number } & Record<string, number>);
      const eta = () => clock.eta(done, { eval: trainer.evaluate ? exp.evalEvery : 0, samples: exp.generateEvery, save: exp.saveEvery });
      if (evaluated) {
        const improved = best ? await best.consider(done, record, (dir) => trainer.exportModel(dir)) : false;
        const figures = Object.entries(record).filter(([k]) => k.startsWith("eval_")).map(([k, v]) => `${k} ${v.toPrecision(4)}`).join(", ");
        log(`step ${done}/${trainer.totalSteps}: ${figures}${improved ? ` (new best: ${join(o.out, "best")})` : ""}; ETA ${fmtTime(eta())} (about ${finishTime(eta())})`);
      }
      report?.({ label: trainer.label, step: done, total: trainer.totalSteps, start, loss: m.loss, etaSeconds: eta() });
      if (every(exp.generateEvery)) await timed("samples", () => trainer.writeSamples(join(o.out, "samples", `step-${String(done).padStart(8, "0")}.png`)));
      const pause = (done === end && !last) || (stop && !last);
      if (every(exp.saveEvery) || pause) await timed("save", () => save(done));
      await o.onStep?.(done, m);
      if (pause) {
        interrupted = stop;
        break;
      }
    } catch (e) {
      throw ioFailure(e, done, lastCheckpoint);
    }
  }
  // Nothing to do (a finished run resumed, or already past --stop-after): the model file is still reported.
  if (done === start && start > 0) modelPath = await trainer.exportModel(o.out);
  return { step: done, finished: done === trainer.totalSteps, resumedFrom, seconds: seconds(), modelPath, interrupted, lastCheckpoint };
}

function snapshotWith<Meta>(trainer: Trainer<Meta>, recipe: ConfigObject, elapsedSeconds: number): { tensors: TrainerSnapshot<Meta>["tensors"]; meta: RunMeta<Meta> } {
  const s = trainer.snapshot();
  return { tensors: s.tensors, meta: { recipe, trainer: s.meta, elapsedSeconds } };
}

function drawPlots(groups: readonly PlotGroup[], metrics: MetricsLog, out: string): void {
  for (const g of groups) {
    const series = g.keys.map((k) => ({ label: k, points: metrics.series(k) })).filter((s) => s.points.length > 0);
    if (series.length === 0) continue;
    const window = Math.max(1, Math.round(series[0]!.points.length / 50));
    plotCurves(join(out, g.file), `${g.title} (moving average over ${window} logged steps)`, series.map((s) => ({ label: s.label, points: smooth(s.points, window) })), { logY: g.logY ?? false });
  }
}

function flatten(v: ConfigValue, prefix: string, out: Map<string, string>): void {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, JSON.stringify(v));
}

/** Throws on changes that would break an exact continuation; returns the allowed ones. */
function checkSameRecipe(stored: ConfigObject, current: ConfigObject, out: string): string[] {
  const a = new Map<string, string>(), b = new Map<string, string>();
  flatten(stored, "", a);
  flatten(current, "", b);
  const changed = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k));
  const describe = (k: string) => `${k}: ${a.get(k) ?? "(absent)"} -> ${b.get(k) ?? "(absent)"}`;
  const diffs = changed.filter((k) => !RESUMABLE_CHANGES.includes(k)).map(describe);
  if (diffs.length) {
    throw new ConfigError({ op: "train --resume", scope: out, expected: "the recipe the run was started with", got: diffs.join("; "),
      hint: "resume with the original config and overrides (see recipe.json in the run directory), or start a new --out" });
  }
  return changed.map(describe);
}
