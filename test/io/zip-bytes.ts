// Hand-built zip archives and PNG headers for reader tests: members stored at an alignment (as
// torch.save writes them), members whose compressed bytes and declared sizes are given
// independently (zip bombs, lying headers), and PNGs that declare any size.

import { crc32 } from "../../src/io/crc32.js";

export { crc32 };

export interface ZipMember {
  readonly name: string;
  /** The bytes as they sit in the archive (already deflated when method is 8). */
  readonly data: Uint8Array;
  /** 0 = stored (default), 8 = deflated. */
  readonly method?: 0 | 8;
  /** Declared uncompressed size; default data.length. */
  readonly size?: number;
  /** CRC written to the headers; default that of `data` (right for stored members). */
  readonly crc?: number;
}

/** A zip whose member data start at multiples of `align` bytes (torch.save uses 64). */
export function buildZip(members: readonly ZipMember[], align = 64): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const m of members) {
    const name = new TextEncoder().encode(m.name);
    const method = m.method ?? 0, size = m.size ?? m.data.length, crc = m.crc ?? crc32(m.data);
    const pad = (align - ((offset + 30 + name.length + 4) % align)) % align;
    const extra = new Uint8Array(4 + pad);
    new DataView(extra.buffer).setUint16(0, 0xcafe, true); // an unknown extra id, skipped by readers
    new DataView(extra.buffer).setUint16(2, pad, true);
    const local = header(30, 0x04034b50, method, crc, m.data.length, size, name.length, extra.length);
    parts.push(local, name, extra, m.data);
    const cd = header(46, 0x02014b50, method, crc, m.data.length, size, name.length, 0, offset);
    central.push(cd, name);
    offset += local.length + name.length + extra.length + m.data.length;
  }
  const cdSize = central.reduce((n, p) => n + p.length, 0);
  const eocd = new Uint8Array(22);
  const v = new DataView(eocd.buffer);
  v.setUint32(0, 0x06054b50, true);
  v.setUint16(8, members.length, true);
  v.setUint16(10, members.length, true);
  v.setUint32(12, cdSize, true);
  v.setUint32(16, offset, true);
  return concat([...parts, ...central, eocd]);
}

/** A local (30-byte) or central (46-byte) header; sizes above 4 GiB are not needed here. */
export function header(length: 30 | 46, signature: number, method: number, crc: number, compressed: number, size: number, nameLen: number, extraLen: number, localOffset = 0): Uint8Array {
  const h = new Uint8Array(length);
  const v = new DataView(h.buffer);
  v.setUint32(0, signature, true);
  const at = length === 30 ? 4 : 6; // the central header has "version made by" first
  v.setUint16(at, 20, true);
  v.setUint16(at + 4, method, true);
  v.setUint32(at + 10, crc, true);
  v.setUint32(at + 14, compressed, true);
  v.setUint32(at + 18, size, true);
  v.setUint16(at + 22, nameLen, true);
  v.setUint16(at + 24, extraLen, true);
  if (length === 46) v.setUint32(42, localOffset, true);
  return h;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A PNG that declares width x height (8-bit RGB) but carries only a few rows of pixel data. */
export function pngDeclaring(width: number, height: number, idat: Uint8Array): Uint8Array {
  const chunk = (type: string, data: Uint8Array): Uint8Array => {
    const t = new TextEncoder().encode(type);
    const out = new Uint8Array(12 + data.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, data.length);
    out.set(t, 4);
    out.set(data, 8);
    v.setUint32(8 + data.length, crc32(concat([t, data])));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type RGB, deflate, no filter, no interlace
  return concat([Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", idat), chunk("IEND", new Uint8Array(0))]);
}
