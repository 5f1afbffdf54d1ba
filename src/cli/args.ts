// Option parsing shared by the commands: node:util parseArgs with errors in maskbit's format,
// and the default model files shipped in the package.

import { parseArgs, type ParseArgsConfig } from "node:util";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../engine/errors.js";

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

export function parseCommand<O extends OptionSpec>(command: string, argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new ConfigError({ op: `maskbit ${command}`, expected: "valid options (see --help)", got: (e as Error).message });
  }
}

/** A required option, with an error naming the flag. */
export function required<T>(command: string, flag: string, value: T | undefined): T {
  if (value === undefined) throw new ConfigError({ op: `maskbit ${command}`, expected: `--${flag}`, got: "nothing" });
  return value;
}

export function intOption(command: string, flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new ConfigError({ op: `maskbit ${command}`, scope: `--${flag}`, expected: "an integer", got: JSON.stringify(value) });
  return n;
}

export function numberOption(command: string, flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new ConfigError({ op: `maskbit ${command}`, scope: `--${flag}`, expected: "a number", got: JSON.stringify(value) });
  return n;
}

/** Files shipped with the package (models/...), found relative to this module in src/ or dist/. */
export function shippedFile(relative: string): string | undefined {
  const path = fileURLToPath(new URL(`../../${relative}`, import.meta.url));
  return existsSync(path) ? path : undefined;
}

export const SHIPPED = {
  tokenizer: "models/fmnist/tokenizer.safetensors",
  generator: "models/fmnist/generator.safetensors",
  classifier: "models/fmnist-classifier/classifier.safetensors",
} as const;

/** The model file from a flag, or the shipped default, or an error saying both are missing. */
export function modelFile(command: string, flag: string, given: string | undefined, shipped: string): string {
  if (given !== undefined) {
    if (!existsSync(given)) throw new ConfigError({ op: `maskbit ${command}`, scope: `--${flag}`, expected: "an existing file", got: given });
    return given;
  }
  const found = shippedFile(shipped);
  if (!found) throw new ConfigError({ op: `maskbit ${command}`, expected: `--${flag} <file> (no shipped default at ${shipped})`, got: "nothing" });
  return found;
}
