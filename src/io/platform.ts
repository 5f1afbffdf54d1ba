// What the core needs from the platform it runs on, injected by the entry point (src/node.ts
// installs Node's file system and image codecs; a browser has none of them, and callers pass
// bytes, Blobs, Responses or URLs instead). Core code asks here rather than importing node:fs,
// so the same readers run in Node, a browser and a Web Worker.

import { ConfigError } from "../engine/errors.js";
import type { RgbaImage } from "./rgba.js";

export interface FileSystem {
  readFile(path: string): Uint8Array;
  /** Replaces `path` with the concatenated chunks atomically (temp file, fsync, rename). */
  writeFileAtomic(path: string, chunks: readonly Uint8Array[]): void;
}

export interface Platform {
  readonly name: string;
  readonly fs?: FileSystem;
  /** Decodes any image format the platform knows (JPEG, WebP, ...) to RGBA; PNG also decodes without it. */
  readonly decodeImage?: (bytes: Uint8Array) => Promise<RgbaImage>;
  /** Where the shipped models live: a directory path (Node) or a base URL (browsers). */
  readonly shippedModels?: string | URL;
}

let current: Platform = { name: "core" };

export function setPlatform(p: Platform): void {
  current = p;
}

export function platform(): Platform {
  return current;
}

/** The file system, or a clear error naming what to pass instead. */
export function fileSystem(op: string, path: string): FileSystem {
  if (!current.fs) {
    throw new ConfigError({
      op, scope: path, expected: "bytes, a Blob, a Response or a URL", got: "a file path, and this platform has no file system",
      hint: 'file paths need Node (import "maskbit" there); in a browser fetch the file or pass its bytes',
    });
  }
  return current.fs;
}
