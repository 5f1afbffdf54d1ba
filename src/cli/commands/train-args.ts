// Options both trainer commands share, and the recipe document they build: the YAML file, then
// `key.path=value` overrides, then --data (a shorthand for dataset.params.data_dir).

import { parseArgs } from "node:util";
import { ConfigError, MaskbitError } from "../../engine/errors.js";
import { UsageError } from "../errors.js";
import { checkOutputDir } from "../outputs.js";
import { applyOverrides, loadYaml, type ConfigObject } from "../../config/yaml.js";
import type { SessionOptions } from "../../engine/runtime/session.js";

export interface TrainArgs {
  readonly config: string;
  readonly out: string;
  readonly resume: boolean;
  readonly overrides: readonly string[];
  readonly session: SessionOptions;
  readonly stopAfter?: number;
  readonly tokenizer?: string;
}

export const TRAIN_OPTIONS_HELP = [
  "  --config <yaml>      recipe in the official layout (experiment/model/losses/dataset/optimizer/lr_scheduler/training)",
  "  --out <dir>          run directory: checkpoints, metrics.jsonl, loss curves, sample grids, the exported model",
  "  --resume             continue the run in --out from its newest checkpoint (same recipe and overrides)",
  "  --data <dir>         dataset directory (Fashion-MNIST IDX files or an image folder); sets dataset.params.data_dir",
  "  --threads <n>        ONNX Runtime intra-op threads (default: all cores)",
  "  --stop-after <n>     pause with a checkpoint after n steps (continue later with --resume)",
  "  key.path=value       override a recipe value, e.g. training.max_train_steps=2000 (prefix + to add a key)",
];

export function parseTrainArgs(argv: readonly string[], withTokenizer: boolean): TrainArgs {
  const options = {
    config: { type: "string" }, out: { type: "string" }, resume: { type: "boolean", default: false }, data: { type: "string" },
    threads: { type: "string" }, "stop-after": { type: "string" }, ...(withTokenizer ? { tokenizer: { type: "string" as const } } : {}),
  } as const;
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options });
  } catch (e) {
    // node:util reports unknown or malformed options as plain TypeErrors; show them as usage errors.
    throw new UsageError({ op: "arguments", expected: "the options listed by --help", got: (e as Error).message });
  }
  const { values, positionals } = parsed;
  const need = (name: string, v: string | undefined): string => {
    if (!v) throw new UsageError({ op: "arguments", expected: `--${name}`, got: "nothing" });
    return v;
  };
  const int = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!/^\+?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1) throw new UsageError({ op: "arguments", scope: `--${name}`, expected: "a positive integer", got: JSON.stringify(v) });
    return n;
  };
  const bad = positionals.filter((p) => !p.includes("="));
  if (bad.length) throw new UsageError({ op: "arguments", expected: "overrides of the form key.path=value", got: bad.join(" ") });
  const threads = int("threads", values.threads);
  const stopAfter = int("stop-after", values["stop-after"]);
  const data = values.data;
  const tokenizer = (values as { tokenizer?: string }).tokenizer;
  const out = need("out", values.out);
  checkOutputDir(out, { command: "train", flag: "out" });
  return {
    config: need("config", values.config),
    out,
    resume: values.resume ?? false,
    overrides: [...positionals, ...(data ? [`+dataset.params.data_dir=${JSON.stringify(data)}`] : [])],
    session: threads ? { threads } : {},
    ...(stopAfter !== undefined ? { stopAfter } : {}),
    ...(tokenizer ? { tokenizer } : {}),
  };
}

/** The recipe file with its overrides; a malformed file or override value is a ConfigError naming it. */
export function recipeDocument(args: TrainArgs): ConfigObject {
  let doc: ConfigObject;
  try {
    doc = loadYaml(args.config);
  } catch (e) {
    if (e instanceof MaskbitError) throw e;
    throw new ConfigError({ op: "recipe", scope: args.config, expected: "a readable YAML recipe", got: firstLine(e), hint: "check the file (is it complete?)" });
  }
  try {
    return applyOverrides(doc, args.overrides);
  } catch (e) {
    if (e instanceof MaskbitError) throw e;
    // Find the override whose value does not parse, to name it.
    const culprit = args.overrides.find((o) => {
      try {
        applyOverrides(doc, [o]);
        return false;
      } catch (x) {
        return !(x instanceof MaskbitError);
      }
    });
    throw new ConfigError({ op: "override", scope: culprit ?? args.overrides.join(" "), expected: "a value in YAML flow syntax (a number, a string, [a, b], {k: v})", got: firstLine(e), hint: "quote the whole argument in the shell, e.g. 'model.vq_model.channel_mult=[1,1,2]'" });
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
}
