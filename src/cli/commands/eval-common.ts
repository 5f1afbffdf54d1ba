// Wiring the eval-* commands share: the report's destination, the optional Inception weights,
// the classifier, the dataset split, and the sharding options.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { modelFile, SHIPPED } from "../args.js";
import { ConfigError } from "../../engine/errors.js";
import { UsageError } from "../errors.js";
import { checkOutputFile } from "../outputs.js";
import { writeFileAtomic } from "../../node/atomic-file.js";
import type { ParamStore } from "../../engine/params.js";
import type { SessionOptions } from "../../engine/runtime/session.js";
import type { Fit } from "../../data/loader.js";
import { loadFashionMnist, type Split } from "../../data/fashion-mnist.js";
import type { DenseImageDataset } from "../../data/dataset.js";
import { InDomainClassifier } from "../../eval/classifier.js";
import { loadInceptionWeights } from "../../eval/inception-weights.js";
import type { EvalSums } from "../../eval/eval-sums.js";
import { parseShard, shardName, type Shard } from "../../eval/shard.js";
import { ProgressBar } from "../../node/progress.js";

export const EVAL_COMMON_OPTIONS = {
  tokenizer: { type: "string" },
  classifier: { type: "string" },
  inception: { type: "string" },
  data: { type: "string" },
  fit: { type: "string", default: "pad" },
  "classifier-fit": { type: "string" },
  batch: { type: "string" },
  shard: { type: "string" },
  json: { type: "string" },
  "save-shard": { type: "string" },
  threads: { type: "string" },
  quiet: { type: "boolean", default: false },
  force: { type: "boolean", default: false },
} as const;

export const EVAL_COMMON_HELP = [
  "  --tokenizer <file>     tokenizer (default: the shipped Fashion-MNIST one)",
  "  --classifier <file>    in-domain classifier for FD-FMNIST and class accuracy (default: shipped)",
  "  --inception <file>     FID Inception-v3 weights (safetensors; see README) for rFID / gFID / IS",
  "  --data <dir>           Fashion-MNIST IDX directory (default: /usr/share/datasets/fashion-mnist)",
  "  --fit pad|resize       how 28x28 images become the model's size (default pad, as the shipped recipes train)",
  "  --classifier-fit pad|resize  how the classifier's training images were fitted, for a file that",
  "                         does not record it (default: its metadata, else resize); --fit pad images",
  "                         are mapped to a resize-trained classifier's fit (centre crop + its resize)",
  "  --batch <B>            images per batch (default 64)",
  "  --shard i/n            do block i of n of the work (merge the shards' --save-shard files with eval-merge)",
  "  --json <file>          write the report there instead of stdout",
  "  --save-shard <file>    write the mergeable sums (safetensors) for `maskbit eval-merge`",
  "  --threads <n>          ONNX Runtime intra-op threads (default: all cores)",
  "  --quiet                no progress bar",
  "  --force                replace existing --json / --save-shard files",
];

export function fitOption(command: string, value: string | undefined, flag = "--fit"): Fit {
  if (value === "pad" || value === "resize") return value;
  throw new UsageError({ op: `maskbit ${command}`, scope: flag, expected: "pad or resize", got: JSON.stringify(value) });
}

export function splitOption(command: string, flag: string, value: string | undefined, fallback: Split): Split {
  const v = value ?? fallback;
  if (v === "train" || v === "test") return v;
  throw new UsageError({ op: `maskbit ${command}`, scope: `--${flag}`, expected: "train or test", got: JSON.stringify(v) });
}

/**
 * The classifier, told how the evaluated images are fitted (`imageFit`, the command's --fit) so
 * that it maps them into its own training fit; `trainFit` is --classifier-fit when given.
 */
export function loadClassifier(command: string, path: string | undefined, session: SessionOptions, imageFit: Fit, trainFit?: string): { classifier: InDomainClassifier; path: string } {
  const file = modelFile(command, "classifier", path, SHIPPED.classifier);
  const override = trainFit === undefined ? undefined : fitOption(command, trainFit, "--classifier-fit");
  return { classifier: InDomainClassifier.load(file, { session, imageFit, trainFit: override }), path: file };
}

/** Inception weights when --inception is given; a missing file is an error naming the flag. */
export function inceptionOption(path: string | undefined): ParamStore | undefined {
  return path === undefined ? undefined : loadInceptionWeights(path);
}

export function fashionMnist(split: Split, dir: string | undefined): Promise<DenseImageDataset> {
  return loadFashionMnist({ split, ...(dir !== undefined ? { dir } : {}) });
}

/** The report as pretty JSON on stdout, or into --json (with a one-line note on stderr). */
export function writeReport(report: object, json: string | undefined): void {
  const text = JSON.stringify(report, null, 2);
  if (json === undefined) console.log(text);
  else {
    writeFileAtomic(json, text + "\n");
    console.error(`wrote ${json}`);
  }
}

/** A model file as the shard settings record it: name and content hash, so shards made on different
 *  machines (different paths) still merge, and shards of different models do not. */
export function fileId(path: string): string {
  return `${basename(path)} sha256:${createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 16)}`;
}

/** A shard's scores alone would be misleading (an FD of a part): its sums go to a file for eval-merge. */
export function requireShardFile(command: string, shard: Shard, file: string | undefined): void {
  if (shard.count > 1 && file === undefined) {
    throw new UsageError({ op: `maskbit ${command}`, scope: "--shard", expected: "--save-shard <file> with --shard (merge the files with `maskbit eval-merge`)", got: "no --save-shard" });
  }
}

/** What a shard run reports: where its sums went and how much it covered. */
export function shardReport(sums: EvalSums, file: string): object {
  const counts = Object.fromEntries([...sums.stats].map(([k, s]) => [k, s.count]));
  return { kind: sums.kind, shard: shardName(sums.shard), shard_file: file, feature_counts: counts, merge: "maskbit eval-merge <all shard files>" };
}

/** Progress callback for a run's batches: a bar created on the first batch (none with --quiet). */
export function batchProgress(label: string, quiet: boolean): (done: number, total: number) => void {
  let bar: ProgressBar | undefined;
  return (done, total) => {
    if (!quiet) (bar ??= new ProgressBar({ label, total })).update(done);
  };
}

/**
 * Ends a run: saves the sums when asked, then reports either the scores (a whole run) or, for a
 * shard, where its sums went; the sums are released either way.
 */
export async function finishEval(sums: EvalSums, shard: Shard, saveShard: string | undefined, json: string | undefined, score: (s: EvalSums) => Promise<object>): Promise<void> {
  try {
    if (saveShard !== undefined) sums.save(saveShard);
    writeReport(shard.count > 1 ? shardReport(sums, saveShard!) : { ...(await score(sums)), shard: null }, json);
  } finally {
    await sums.dispose();
  }
}

/** The classifier scores the tokenizer's images (same channels) and, for generators, the same classes. */
export function checkClassifierFits(command: string, classifier: InDomainClassifier, classifierPath: string, tokenizerChannels: number, tokenizerPath: string, generator?: { readonly numClasses: number; readonly path: string }): void {
  if (classifier.config.inChannels !== tokenizerChannels) {
    throw new ConfigError({ op: `maskbit ${command}`, scope: `classifier ${classifierPath} with tokenizer ${tokenizerPath}`, expected: `a classifier of the tokenizer's ${tokenizerChannels} channel(s)`, got: `classifier inChannels ${classifier.config.inChannels}`, hint: "pass --classifier trained on the same kind of images" });
  }
  if (generator && generator.numClasses !== classifier.config.numClasses) {
    throw new ConfigError({ op: `maskbit ${command}`, scope: `classifier ${classifierPath} with generator ${generator.path}`, expected: `a classifier of the generator's ${generator.numClasses} classes`, got: `classifier numClasses ${classifier.config.numClasses}` });
  }
}

/** --json and --save-shard checked before the run: writable, not an input, not existing unless --force. */
export function checkEvalOutputs(command: string, v: { readonly json?: string; readonly "save-shard"?: string; readonly force?: boolean }, inputs: readonly (string | undefined)[]): void {
  const known = inputs.filter((p): p is string => p !== undefined);
  if (v.json !== undefined) checkOutputFile(v.json, { command, flag: "json", inputs: known, force: v.force ?? false });
  if (v["save-shard"] !== undefined) checkOutputFile(v["save-shard"], { command, flag: "save-shard", inputs: known, force: v.force ?? false });
  if (v.json !== undefined && v.json === v["save-shard"]) throw new UsageError({ op: `maskbit ${command}`, expected: "different --json and --save-shard files", got: v.json });
}

/** The checks and options every eval command starts with: no positionals, --shard (with its file), --fit. */
export function commonEvalArgs(command: string, v: { readonly shard?: string; readonly fit?: string; readonly "save-shard"?: string }, positionals: readonly string[]): { shard: Shard; fit: Fit } {
  if (positionals.length) throw new UsageError({ op: `maskbit ${command}`, expected: "no positional arguments", got: positionals.join(" ") });
  let shard: Shard;
  try {
    shard = parseShard(v.shard, `maskbit ${command}`);
  } catch (e) {
    // A malformed --shard is a command-line mistake (exit 2), whatever the parser calls it.
    if (e instanceof ConfigError) throw new UsageError({ op: e.op, expected: e.expected, got: e.got, ...(e.scope !== undefined ? { scope: e.scope } : {}), ...(e.hint !== undefined ? { hint: e.hint } : {}) });
    throw e;
  }
  requireShardFile(command, shard, v["save-shard"]);
  return { shard, fit: fitOption(command, v.fit) };
}
