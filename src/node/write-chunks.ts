// Writes byte chunks to an open file. One writeSync call takes at most 2 GiB, so larger chunks go
// in 1 GiB slices; a short write continues where it stopped.

import { writeSync } from "node:fs";

export function writeChunks(fd: number, chunks: readonly Uint8Array[]): void {
  for (const chunk of chunks) {
    for (let done = 0; done < chunk.length;) done += writeSync(fd, chunk, done, Math.min(chunk.length - done, 1 << 30));
  }
}
