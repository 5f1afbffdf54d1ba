// Bytes from wherever a model or config comes from: a path (where the platform has a file
// system), a URL (fetched), a fetch Response, a Blob/File, an ArrayBuffer or a Uint8Array. The
// progress callback sees bytes as they arrive, so a page can draw a bar while a model downloads.

import { CheckpointError, FeedError, describeArgument } from "../engine/errors.js";
import { fileSystem } from "./platform.js";

export type ByteSource = string | URL | Response | Blob | ArrayBuffer | Uint8Array;

export interface LoadProgress {
  /** "file" for paths, else the URL or "<bytes>". */
  readonly source: string;
  readonly loaded: number;
  /** Total bytes when known (Content-Length, Blob size). */
  readonly total?: number;
}

export interface ReadOptions {
  readonly onProgress?: (p: LoadProgress) => void;
  readonly signal?: AbortSignal;
  /** Refuse sources larger than this (default 8 GiB). */
  readonly maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 8 * 2 ** 30;
const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** A readable name for errors. */
export function describeSource(source: ByteSource): string {
  if (typeof source === "string") return source;
  if (source instanceof URL) return source.href;
  if (typeof Response !== "undefined" && source instanceof Response) return source.url || "<response>";
  if (typeof Blob !== "undefined" && source instanceof Blob) return (source as Blob & { name?: string }).name ?? "<blob>";
  return "<bytes>";
}

/** Whether a string names a URL to fetch rather than a path. */
export function isUrlString(s: string): boolean {
  return URL_SCHEME.test(s) || s.startsWith("blob:") || s.startsWith("data:");
}

export async function readBytes(source: ByteSource, o: ReadOptions = {}): Promise<Uint8Array> {
  const name = describeSource(source);
  const max = o.maxBytes ?? DEFAULT_MAX_BYTES;
  const tooBig = (n: number) => new CheckpointError({ op: "readBytes", scope: name, expected: `at most ${max} bytes`, got: `${n}`, hint: "raise ReadOptions.maxBytes if this is intended" });
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (typeof source === "string" && !isUrlString(source)) {
    const bytes = readLocalFile(source, name);
    if (bytes.length > max) throw tooBig(bytes.length);
    o.onProgress?.({ source: name, loaded: bytes.length, total: bytes.length });
    return bytes;
  }
  if (typeof Blob !== "undefined" && source instanceof Blob) {
    if (source.size > max) throw tooBig(source.size);
    return collect(source.stream(), name, source.size, max, o);
  }
  let response: Response;
  const isResponse = typeof source === "object" && source !== null && "ok" in source && "headers" in source;
  if (typeof source !== "string" && !(source instanceof URL) && !isResponse) {
    throw new FeedError({ op: "readBytes", expected: "a file path, URL, Response, Blob, ArrayBuffer or Uint8Array", got: describeArgument(source) });
  }
  if (typeof source === "string" || source instanceof URL) {
    try {
      response = await fetch(source, o.signal ? { signal: o.signal } : {});
    } catch (e) {
      throw new CheckpointError({ op: "readBytes", scope: name, expected: "a reachable URL", got: (e as Error).message });
    }
  } else {
    response = source as Response;
  }
  if (!response.ok) throw new CheckpointError({ op: "readBytes", scope: name, expected: "HTTP 2xx", got: `${response.status} ${response.statusText}` });
  const length = Number(response.headers.get("content-length") ?? NaN);
  if (length > max) throw tooBig(length);
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  return collect(response.body, name, Number.isFinite(length) ? length : undefined, max, o);
}

/**
 * The errors of reading a path that mean the path is wrong, as the project's errors; others
 * (permissions, I/O) stay the platform's, which the CLI reports as the machine's problem.
 */
const PATH_ERRORS: Readonly<Record<string, { got: string; hint: string }>> = {
  ENOENT: { got: "nothing at this path", hint: "check the path (a relative path starts at the current directory)" },
  EISDIR: { got: "a directory", hint: "name the model file inside it" },
  ENOTDIR: { got: "a file where a directory should be", hint: "check every component of the path" },
  ERR_FS_FILE_TOO_LARGE: { got: "a file over 2 GiB, more than one read can hold", hint: "in Node pass await fs.openAsBlob(path) instead: a Blob is read in chunks" },
};

function readLocalFile(path: string, name: string): Uint8Array {
  const fs = fileSystem("readBytes", path);
  try {
    return fs.readFile(path);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const known = typeof code === "string" ? PATH_ERRORS[code] : undefined;
    if (!known) throw e;
    throw new CheckpointError({ op: "readBytes", scope: name, expected: "a readable file", got: known.got, hint: known.hint });
  }
}

async function collect(stream: ReadableStream<Uint8Array>, name: string, total: number | undefined, max: number, o: ReadOptions): Promise<Uint8Array> {
  const reader = stream.getReader();
  // With a known size the bytes land in one buffer; otherwise (or when the size was wrong) chunks
  // are joined once at the end.
  let whole = total !== undefined ? new Uint8Array(total) : undefined;
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    if (o.signal?.aborted) {
      await reader.cancel();
      throw o.signal.reason instanceof Error ? o.signal.reason : new DOMException("aborted", "AbortError");
    }
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > max) {
      await reader.cancel();
      throw new CheckpointError({ op: "readBytes", scope: name, expected: `at most ${max} bytes`, got: "more", hint: "raise ReadOptions.maxBytes if this is intended" });
    }
    if (whole && loaded + value.length <= whole.length) {
      whole.set(value, loaded);
    } else {
      if (whole) {
        chunks.push(whole.subarray(0, loaded));
        whole = undefined;
      }
      chunks.push(value);
    }
    loaded += value.length;
    o.onProgress?.({ source: name, loaded, ...(total !== undefined ? { total } : {}) });
  }
  if (whole) return loaded === whole.length ? whole : whole.slice(0, loaded);
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
