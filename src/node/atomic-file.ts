// Whole-file writes that never leave a partial file at the target: write a temporary file in the
// same directory (so the rename stays on one file system), fsync, rename. On any failure (disk
// full, permissions) the temporary file is removed and the old target, if any, is untouched.
// Temporary names start with "." and end in ".tmp", which is what cleanOrphanedTemps looks for.

import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { nodeFileSystem } from "./platform.js";

/** One atomic write for the whole project: the Node platform's (temp + fsync + rename). */
export function writeFileAtomic(path: string, data: Uint8Array | string | readonly Uint8Array[]): void {
  const chunks = typeof data === "string" ? [new TextEncoder().encode(data)] : data instanceof Uint8Array ? [data] : data;
  nodeFileSystem.writeFileAtomic(path, chunks);
}

/** Temporary files of atomic writes that a killed process left behind (".<name>.tmp"). */
export const ORPHANED_TEMP = /^\..+\.tmp$/;

/** Removes orphaned temporaries in `dir` (not recursive); returns their names. */
export function cleanOrphanedTemps(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const orphans = names.filter((n) => ORPHANED_TEMP.test(n));
  for (const n of orphans) rmSync(join(dir, n), { force: true });
  return orphans;
}
