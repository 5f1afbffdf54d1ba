// Option parsing shared by the commands: node:util parseArgs with errors in maskbit's format,
// and the default model files shipped in the package.

import { INFERENCE_DTYPES, type InferenceDType } from "../engine/quant/weights.js";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { existsSync, statSync } from "node:fs";
import { shippedModelPath } from "../node/platform.js";
import { UsageError } from "./errors.js";

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

export function parseCommand<O extends OptionSpec>(command: string, argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError({ op: `maskbit ${command}`, expected: "valid options (see --help)", got: (e as Error).message });
  }
}

/** A required option, with an error naming the flag. */
export function required<T>(command: string, flag: string, value: T | undefined): T {
  if (value === undefined) throw new UsageError({ op: `maskbit ${command}`, expected: `--${flag}`, got: "nothing" });
  return value;
}

export interface IntRule {
  /** Smallest allowed value (default 0: counts, seeds and sizes are never negative). */
  readonly min?: number;
  readonly max?: number;
  /** Must be a multiple of this (e.g. the tokenizer's stride for an image size). */
  readonly multipleOf?: number;
  /** Why the rule holds, shown in the error. */
  readonly why?: string;
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** An integer option: '' / NaN / fractions / values outside the rule are usage errors, never 0. */
export function intOption(command: string, flag: string, value: string | undefined, fallback: number, rule: IntRule = {}): number {
  if (value === undefined) return fallback;
  const min = rule.min ?? 0;
  const what = [
    "an integer", min > Number.MIN_SAFE_INTEGER ? `>= ${min}` : "", rule.max !== undefined ? `<= ${rule.max}` : "",
    rule.multipleOf !== undefined ? `and a multiple of ${rule.multipleOf}` : "",
  ].filter(Boolean).join(" ");
  const bad = (hint?: string) => new UsageError({ op: `maskbit ${command}`, scope: flag.length === 1 ? `-${flag}` : `--${flag}`, expected: what + (rule.why ? ` (${rule.why})` : ""), got: JSON.stringify(value), ...(hint ? { hint } : {}) });
  const text = value.trim();
  if (!INTEGER.test(text)) throw bad();
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || (rule.max !== undefined && n > rule.max)) throw bad();
  if (rule.multipleOf !== undefined && n % rule.multipleOf !== 0) {
    const lo = Math.max(rule.multipleOf, Math.floor(n / rule.multipleOf) * rule.multipleOf), hi = Math.ceil(n / rule.multipleOf) * rule.multipleOf;
    throw bad(lo === hi ? undefined : `try ${lo} or ${hi}`);
  }
  return n;
}

/** A finite decimal option ('' and NaN are refused, not read as 0). */
export function numberOption(command: string, flag: string, value: string | undefined, fallback: number, rule: { readonly min?: number } = {}): number {
  if (value === undefined) return fallback;
  const text = value.trim();
  const n = Number(text);
  if (!DECIMAL.test(text) || !Number.isFinite(n) || (rule.min !== undefined && n < rule.min)) {
    throw new UsageError({ op: `maskbit ${command}`, scope: `--${flag}`, expected: `a finite number${rule.min !== undefined ? ` >= ${rule.min}` : ""}`, got: JSON.stringify(value) });
  }
  return n;
}

/** --dtype fp32|fp16|int8: the generator's inference precision (default fp32). */
export function dtypeOption(command: string, value: string | undefined): InferenceDType {
  if (value === undefined) return "fp32";
  const d = INFERENCE_DTYPES.find((x) => x === value.trim().toLowerCase());
  if (!d) throw new UsageError({ op: `maskbit ${command}`, scope: "--dtype", expected: `one of ${INFERENCE_DTYPES.join(", ")}`, got: JSON.stringify(value) });
  return d;
}

/** The help line of --dtype, shared by the commands that sample. */
export const DTYPE_HELP = "  --dtype fp32|fp16|int8  precision of the generator's linear layers (default fp32; cost measured in BENCHMARKS.md)";

/** --threads: 0 (all cores) or a positive count. */
export function threadsOption(command: string, value: string | undefined): { threads: number } {
  return { threads: intOption(command, "threads", value, 0, { max: 1024 }) };
}

/** The shipped defaults' paths (the table is SHIPPED_MODELS in src/models/model-source.ts). */
export const SHIPPED = {
  tokenizer: shippedModelPath("tokenizer"),
  generator: shippedModelPath("generator"),
  classifier: shippedModelPath("classifier"),
} as const;

/** The model file from a flag, or the shipped default, or an error saying both are missing. */
export function modelFile(command: string, flag: string, given: string | undefined, shipped: string): string {
  if (given !== undefined) {
    if (!existsSync(given) || statSync(given).isDirectory()) throw new UsageError({ op: `maskbit ${command}`, scope: `--${flag}`, expected: "an existing file", got: existsSync(given) ? "a directory" : `nothing at ${given}` });
    return given;
  }
  const found = existsSync(shipped) ? shipped : undefined;
  if (!found) throw new UsageError({ op: `maskbit ${command}`, expected: `--${flag} <file> (no shipped default at ${shipped})`, got: "nothing" });
  return found;
}
