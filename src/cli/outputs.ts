// Output paths are checked before any work starts, so a wrong --out fails in a second instead of
// after an hour, and nothing a run reads (its inputs, the shipped models) can be overwritten:
//   - the parent directory must exist and be writable;
//   - an output may not be one of the run's inputs (same file after resolving links), even with --force;
//   - nothing under the package's models/ directory is ever written;
//   - an existing file is refused unless --force (the convention of cp -f / ffmpeg -y, spelled out).

import { accessSync, constants, existsSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { UsageError } from "./errors.js";
import { SHIPPED_MODELS_DIR } from "../node/platform.js";

export { SHIPPED_MODELS_DIR };

/** The real path of `p`, or of its nearest existing ancestor with the rest appended. */
export function canonicalPath(p: string): string {
  const abs = resolve(p);
  if (existsSync(abs)) return realpathSync(abs);
  const parent = dirname(abs);
  return parent === abs ? abs : join(canonicalPath(parent), basename(abs));
}

function inside(path: string, dir: string): boolean {
  const d = canonicalPath(dir);
  return path === d || path.startsWith(d + sep);
}

export interface OutputCheck {
  readonly command: string;
  readonly flag: string;
  /** Files the run reads: none of them may be the output. */
  readonly inputs?: readonly string[];
  readonly force?: boolean;
}

/** Throws a UsageError unless `path` can be written as a new (or, with --force, replaced) file. */
export function checkOutputFile(path: string, o: OutputCheck): void {
  const fail = (expected: string, got: string, hint?: string) =>
    new UsageError({ op: `maskbit ${o.command}`, scope: `--${o.flag} ${path}`, expected, got, ...(hint ? { hint } : {}) });
  if (path === "") throw fail("a file path", "an empty string");
  const real = canonicalPath(path);
  if (inside(real, SHIPPED_MODELS_DIR)) throw fail("a path outside the shipped models directory", `a path in ${SHIPPED_MODELS_DIR}`, "write your outputs elsewhere; the shipped models are read-only");
  for (const input of o.inputs ?? []) {
    if (canonicalPath(input) === real) throw fail("a path other than the run's inputs", `the input ${input}`, "choose another output name (--force never overwrites an input)");
  }
  const parent = dirname(resolve(path));
  if (!existsSync(parent)) throw fail("an existing directory to write into", `no directory ${parent}`, `create it first (mkdir -p ${parent})`);
  if (!statSync(parent).isDirectory()) throw fail("an existing directory to write into", `${parent} is a file`);
  try {
    accessSync(parent, constants.W_OK);
  } catch {
    throw fail("a writable directory", `no write permission on ${parent}`, "write elsewhere");
  }
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) throw fail("a file path", "a directory", "name a file inside it");
    if (!o.force) throw fail("a path that does not exist yet", "an existing file", "pass --force to replace it, or choose another name");
  }
}

/** Throws a UsageError unless `dir` is a directory (created if missing) that is not a shipped one. */
export function checkOutputDir(dir: string, o: OutputCheck): void {
  const real = canonicalPath(dir);
  const fail = (expected: string, got: string, hint?: string) =>
    new UsageError({ op: `maskbit ${o.command}`, scope: `--${o.flag} ${dir}`, expected, got, ...(hint ? { hint } : {}) });
  if (inside(real, SHIPPED_MODELS_DIR)) {
    throw fail("a directory outside the shipped models", `a directory in ${SHIPPED_MODELS_DIR}`, "choose a new run directory, e.g. runs/<name>");
  }
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw fail("a directory", "a file");
  const existing = existsSync(dir) ? dir : dirname(resolve(dir));
  if (!existsSync(existing)) throw fail("an existing parent directory", `no directory ${existing}`, `create it first (mkdir -p ${existing})`);
  try {
    accessSync(existing, constants.W_OK);
  } catch {
    throw fail("a writable directory", `no write permission on ${existing}`, "write elsewhere");
  }
}
