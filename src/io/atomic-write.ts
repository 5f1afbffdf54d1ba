// Node-only: puts bytes on disk atomically (a temporary file in the target folder, fsync, rename),
// so a reader never sees half a file and a failed write leaves any previous file intact. The
// platform-free encoders (torch-writer.ts, npz.ts) return bytes; this is where they meet the disk.

import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { CheckpointError } from "../engine/errors.js";

/** Writes `chunks` one after another to `path` (atomically); `op` labels errors. */
export function writeFileAtomic(path: string, chunks: readonly Uint8Array[], op = "writeFileAtomic"): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  let fd = -1;
  try {
    fd = openSync(tmp, "wx");
    for (const chunk of chunks) {
      for (let done = 0; done < chunk.length;) done += writeSync(fd, chunk, done, Math.min(chunk.length - done, 1 << 30));
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new CheckpointError({ op, scope: path, expected: "a writable file", got: e instanceof Error ? e.message : String(e) });
  }
}
