// The lazy zip reader under the torch loader: zip64 records, stored members as views, and the
// structural checks (entries, offsets, methods, names) that keep a crafted directory harmless.

import { test } from "node:test";
import assert from "node:assert/strict";
import { deflateRawSync } from "node:zlib";
import { ZipArchive } from "../../src/io/zip.js";
import { CheckpointError } from "../../src/engine/errors.js";
import { buildZip, concat, crc32, header } from "./zip-bytes.js";

/** One stored member written the zip64 way: 0xffffffff placeholders, real values in extra fields and a zip64 end record. */
function zip64(name: string, data: Uint8Array): Uint8Array {
  const n = new TextEncoder().encode(name);
  const local = header(30, 0x04034b50, 0, crc32(data), data.length, data.length, n.length, 0);
  const extra = new Uint8Array(4 + 24);
  const ev = new DataView(extra.buffer);
  ev.setUint16(0, 1, true);
  ev.setUint16(2, 24, true);
  ev.setBigUint64(4, BigInt(data.length), true); // uncompressed
  ev.setBigUint64(12, BigInt(data.length), true); // compressed
  ev.setBigUint64(20, 0n, true); // local header offset
  const cd = header(46, 0x02014b50, 0, crc32(data), 0xffffffff, 0xffffffff, n.length, extra.length, 0xffffffff);
  const cdOffset = local.length + n.length + data.length, cdSize = cd.length + n.length + extra.length;
  const rec = new Uint8Array(56), rv = new DataView(rec.buffer);
  rv.setUint32(0, 0x06064b50, true);
  rv.setBigUint64(24, 1n, true);
  rv.setBigUint64(32, 1n, true);
  rv.setBigUint64(40, BigInt(cdSize), true);
  rv.setBigUint64(48, BigInt(cdOffset), true);
  const loc = new Uint8Array(20), lv = new DataView(loc.buffer);
  lv.setUint32(0, 0x07064b50, true);
  lv.setBigUint64(8, BigInt(cdOffset + cdSize), true);
  const eocd = new Uint8Array(22), v = new DataView(eocd.buffer);
  v.setUint32(0, 0x06054b50, true);
  v.setUint16(8, 0xffff, true);
  v.setUint16(10, 0xffff, true);
  v.setUint32(12, 0xffffffff, true);
  v.setUint32(16, 0xffffffff, true);
  return concat([local, n, data, cd, n, extra, rec, loc, eocd]);
}

test("zip64 directories and sizes are read; stored members are views of the archive", () => {
  const data = Uint8Array.from({ length: 100 }, (_, i) => i);
  const bytes = zip64("a/data/0", data);
  const zip = new ZipArchive(bytes, "z64.bin");
  assert.deepEqual([...zip.entries.keys()], ["a/data/0"]);
  const got = zip.read("a/data/0");
  assert.deepEqual(Array.from(got), Array.from(data));
  assert.equal(got.buffer, bytes.buffer);
});

test("deflated members inflate to exactly their declared size", () => {
  const data = new TextEncoder().encode("hello ".repeat(500));
  const zip = new ZipArchive(buildZip([{ name: "m", data: deflateRawSync(data), method: 8, size: data.length }]), "d.zip");
  assert.equal(new TextDecoder().decode(zip.read("m")), "hello ".repeat(500));
  const short = new ZipArchive(buildZip([{ name: "m", data: deflateRawSync(data), method: 8, size: data.length + 10 }]), "d.zip");
  assert.throws(() => short.read("m"), (e: unknown) => e instanceof CheckpointError && /3010 inflated bytes/.test(e.expected));
  const corrupt = new ZipArchive(buildZip([{ name: "m", data: Uint8Array.of(0xff, 0xff, 0xff), method: 8, size: 10 }]), "d.zip");
  assert.throws(() => corrupt.read("m"), (e: unknown) => e instanceof CheckpointError && /DEFLATE/.test(e.expected));
});

test("crafted directories are refused: entry count, offsets past the end, unknown methods, duplicate names", () => {
  const one = buildZip([{ name: "m", data: Uint8Array.of(1, 2, 3) }]);
  assert.throws(() => new ZipArchive(buildZip([{ name: "a", data: new Uint8Array(1) }, { name: "b", data: new Uint8Array(1) }]), "z", { maxEntries: 1, maxInflatedBytes: 1, maxCompressionRatio: 1 }),
    (e: unknown) => e instanceof CheckpointError && /maxEntries = 1/.test(e.expected));
  assert.throws(() => new ZipArchive(buildZip([{ name: "a", data: new Uint8Array(1) }, { name: "a", data: new Uint8Array(1) }]), "z"),
    (e: unknown) => e instanceof CheckpointError && /unique member names/.test(e.expected));
  assert.throws(() => new ZipArchive(one.subarray(0, one.length - 30), "z"), CheckpointError);
  // Point the central entry's local-header offset past the end of the file.
  const moved = one.slice();
  const cd = moved.length - 22 - 46 - 1;
  new DataView(moved.buffer).setUint32(cd + 42, 1 << 30, true);
  assert.throws(() => new ZipArchive(moved, "z").read("m"), (e: unknown) => e instanceof CheckpointError && /local file header/.test(e.expected));
  const bzip2 = buildZip([{ name: "m", data: Uint8Array.of(1), method: 12 as 8, size: 1 }]);
  assert.throws(() => new ZipArchive(bzip2, "z").read("m"), (e: unknown) => e instanceof CheckpointError && /compression method 12/.test(e.got));
  assert.throws(() => new ZipArchive(one, "z").read("nope"), (e: unknown) => e instanceof CheckpointError && e.got === "no such member");
});
