// A lazy, bounded zip reader for torch.save archives. Only the central directory is parsed up front;
// a member's bytes are produced when asked for: stored members (what torch.save writes) are views of
// the archive bytes, deflated ones are inflated in small steps into a buffer of the declared size,
// so a member that inflates past what it declares, or declares more than the limits allow, is
// refused after at most that much work. Platform-free: bytes in, bytes out.

import { Inflate } from "fflate";
import { CheckpointError } from "../engine/errors.js";

export interface ZipLimits {
  /** Members listed in the central directory (default 100,000). */
  readonly maxEntries: number;
  /** Declared uncompressed size of one deflated member, in bytes (default 1 GiB). */
  readonly maxInflatedBytes: number;
  /** Declared uncompressed / compressed size of a deflated member (default 200; DEFLATE's own ceiling is about 1032). */
  readonly maxCompressionRatio: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxEntries: 100_000, maxInflatedBytes: 1 << 30, maxCompressionRatio: 200 };

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

const OP = "readZip";
const LIMIT_HINT = (field: string): string => `raise it with { limits: { ${field} } } if the file is trusted`;
/** Input fed to the inflater per step: DEFLATE expands at most ~1032x, so one step's output stays small. */
const INFLATE_STEP = 16 * 1024;

export class ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;

  constructor(readonly bytes: Uint8Array, readonly file: string, readonly limits: ZipLimits = DEFAULT_ZIP_LIMITS) {
    this.entries = readCentralDirectory(bytes, file, limits);
  }

  private fail(member: string, expected: string, got: string, hint?: string): CheckpointError {
    return new CheckpointError({ op: OP, scope: `${this.file}:${member}`, expected, got, hint });
  }

  /** The member's uncompressed bytes: a view of the archive for stored members, a fresh buffer for deflated ones. */
  read(name: string): Uint8Array {
    const e = this.entries.get(name);
    if (e === undefined) throw this.fail(name, "a member of that name", "no such member");
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    const at = e.localHeaderOffset;
    if (at + 30 > this.bytes.length || view.getUint32(at, true) !== 0x04034b50) {
      throw this.fail(name, "a local file header at the offset the central directory gives", `offset ${at} in a ${this.bytes.length}-byte file`, "truncated or corrupt file?");
    }
    const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
    if (start + e.compressedSize > this.bytes.length) {
      throw this.fail(name, `${e.compressedSize} bytes of member data from byte ${start}`, `a ${this.bytes.length}-byte file`, "truncated file?");
    }
    const raw = this.bytes.subarray(start, start + e.compressedSize);
    if (e.method === 0) {
      if (e.size !== e.compressedSize) throw this.fail(name, "equal sizes for a stored member", `${e.compressedSize} stored, ${e.size} declared`);
      return raw;
    }
    if (e.method !== 8) throw this.fail(name, "a stored (0) or deflated (8) member", `compression method ${e.method}`);
    return this.inflate(name, raw, e.size);
  }

  private inflate(name: string, raw: Uint8Array, size: number): Uint8Array {
    const { maxInflatedBytes, maxCompressionRatio } = this.limits;
    if (size > maxInflatedBytes) {
      throw this.fail(name, `a deflated member of at most maxInflatedBytes = ${maxInflatedBytes} bytes`, `${size} bytes declared`, LIMIT_HINT("maxInflatedBytes"));
    }
    if (size > Math.max(raw.length, 1) * maxCompressionRatio) {
      throw this.fail(name, `a compression ratio of at most maxCompressionRatio = ${maxCompressionRatio}`,
        `${size} bytes declared from ${raw.length} compressed (ratio ${(size / Math.max(raw.length, 1)).toFixed(0)})`, `a zip bomb? ${LIMIT_HINT("maxCompressionRatio")}`);
    }
    const out = new Uint8Array(size);
    let filled = 0, ended = false;
    const overflow = () => this.fail(name, `at most the declared ${size} bytes`, "more data", "the member's declared size is wrong: corrupt or hostile file");
    const inflater = new Inflate((chunk, final) => {
      if (filled + chunk.length > size) throw overflow();
      out.set(chunk, filled);
      filled += chunk.length;
      if (final) ended = true;
    });
    try {
      for (let i = 0; i < raw.length; i += INFLATE_STEP) inflater.push(raw.subarray(i, i + INFLATE_STEP), i + INFLATE_STEP >= raw.length);
      if (raw.length === 0) inflater.push(raw, true);
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      throw this.fail(name, "a valid DEFLATE stream", e instanceof Error ? e.message : String(e), "truncated or corrupt file?");
    }
    if (!ended || filled !== size) throw this.fail(name, `${size} inflated bytes`, `${filled}${ended ? "" : " (stream incomplete)"}`, "truncated or corrupt file?");
    return out;
  }
}

function readCentralDirectory(bytes: Uint8Array, file: string, limits: ZipLimits): Map<string, ZipEntry> {
  const fail = (expected: string, got: string, hint = "truncated or corrupt file?"): CheckpointError =>
    new CheckpointError({ op: OP, scope: file, expected, got, hint });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end-of-central-directory record is 22 bytes plus a comment of up to 65535 bytes.
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw fail("a zip end-of-central-directory record", `none in the last ${Math.min(bytes.length, 22 + 0xffff)} bytes`);
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || view.getUint32(loc, true) !== 0x07064b50) throw fail("a zip64 end-of-central-directory locator", "none");
    const rec = safe(view.getBigUint64(loc + 8, true));
    if (rec + 56 > bytes.length || view.getUint32(rec, true) !== 0x06064b50) throw fail("a zip64 end-of-central-directory record", `offset ${rec}`);
    count = safe(view.getBigUint64(rec + 32, true));
    cdSize = safe(view.getBigUint64(rec + 40, true));
    cdOffset = safe(view.getBigUint64(rec + 48, true));
  }
  if (count > limits.maxEntries) {
    throw fail(`at most maxEntries = ${limits.maxEntries} zip members`, `${count}`, LIMIT_HINT("maxEntries"));
  }
  if (cdOffset + cdSize > bytes.length || count * 46 > cdSize) {
    throw fail(`a central directory of ${count} entries inside the file`, `${cdSize} bytes at offset ${cdOffset} in a ${bytes.length}-byte file`);
  }
  const decoder = new TextDecoder("utf-8", { fatal: false });
  const entries = new Map<string, ZipEntry>();
  let p = cdOffset;
  const end = cdOffset + cdSize;
  for (let i = 0; i < count; i++) {
    if (p + 46 > end || view.getUint32(p, true) !== 0x02014b50) throw fail(`central directory entry ${i}`, `offset ${p}`);
    const method = view.getUint16(p + 10, true);
    let compressedSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true), extraLen = view.getUint16(p + 30, true), commentLen = view.getUint16(p + 32, true);
    let localHeaderOffset = view.getUint32(p + 42, true);
    const next = p + 46 + nameLen + extraLen + commentLen;
    if (next > end) throw fail(`central directory entry ${i} inside the directory`, `it runs to byte ${next}, past ${end}`);
    const name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // Zip64: the extra field (id 1) holds, in order, whichever of the three fields overflowed.
    for (let x = p + 46 + nameLen; x + 4 <= p + 46 + nameLen + extraLen;) {
      const id = view.getUint16(x, true), len = view.getUint16(x + 2, true);
      if (id === 0x0001) {
        let f = x + 4;
        const take = (): number => {
          if (f + 8 > x + 4 + len) throw fail(`a complete zip64 extra field for ${name}`, `${len} bytes`);
          const v = safe(view.getBigUint64(f, true));
          f += 8;
          return v;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
      }
      x += 4 + len;
    }
    if (entries.has(name)) throw fail("unique member names", `${JSON.stringify(name)} twice`, "a crafted archive?");
    entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
    p = next;
  }
  return entries;

  function safe(v: bigint): number {
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw fail("a zip64 size or offset below 2^53", `${v}`);
    return Number(v);
  }
}
