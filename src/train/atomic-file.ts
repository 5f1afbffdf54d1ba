// Whole-file writes that never leave a partial file at the target: write a temporary file in the
// same directory (so the rename stays on one file system), fsync, rename. On any failure (disk
// full, permissions) the temporary file is removed and the old target, if any, is untouched.
// Temporary names start with "." and end in ".tmp", which is what cleanOrphanedTemps looks for.

import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";

export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const tmp = tempPathFor(path);
  let fd = -1;
  try {
    fd = openSync(tmp, "wx");
    for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30));
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
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
