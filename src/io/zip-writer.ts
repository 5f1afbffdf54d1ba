// A minimal zip writer: STORED (uncompressed) members, each member's data starting on a 64-byte
// boundary (padding in the local header's extra field, as PyTorch's writer does) so readers can
// view arrays in place. No zip64: archives stay under 4 GiB and 65,535 members. Platform-free;
// used for torch.save-compatible checkpoints and NumPy .npz files.

import { CheckpointError } from "../engine/errors.js";
import { crc32 } from "./crc32.js";

const ALIGN = 64;
const LIMIT = 0xffffffff;

/** An uncompressed (STORED) zip assembled in memory; members are added in order. */
export class StoredZip {
  private readonly parts: Uint8Array[] = [];
  private readonly central: Uint8Array[] = [];
  private offset = 0;
  private count = 0;

  /** `op` names the caller in errors. */
  constructor(private readonly op = "StoredZip") {}

  add(name: string, data: Uint8Array): void {
    const nameBytes = ascii(name);
    // Pad the extra field so the member's data starts on an ALIGN boundary.
    const extraLen = (ALIGN - ((this.offset + 30 + nameBytes.length + 4) % ALIGN)) % ALIGN + 4;
    const crc = crc32(data);
    if (data.length >= LIMIT || this.offset >= LIMIT) {
      throw new CheckpointError({ op: this.op, scope: name, expected: "an archive under 4 GiB (zip64 is not written)", got: `${this.offset + data.length} bytes`, hint: "use safetensors for larger models" });
    }
    const local = new Uint8Array(30 + nameBytes.length + extraLen);
    const v = new DataView(local.buffer);
    v.setUint32(0, 0x04034b50, true);
    v.setUint16(4, 20, true); // version needed
    v.setUint16(6, 0, true); // flags
    v.setUint16(8, 0, true); // method: STORED
    v.setUint32(10, 0, true); // dos time/date
    v.setUint32(14, crc, true);
    v.setUint32(18, data.length, true);
    v.setUint32(22, data.length, true);
    v.setUint16(26, nameBytes.length, true);
    v.setUint16(28, extraLen, true);
    local.set(nameBytes, 30);
    // An extra record with an unassigned id (0xcafe), as padding: id, length, zeros.
    v.setUint16(30 + nameBytes.length, 0xcafe, true);
    v.setUint16(32 + nameBytes.length, extraLen - 4, true);

    const cd = new Uint8Array(46 + nameBytes.length);
    const c = new DataView(cd.buffer);
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, 20, true); // made by
    c.setUint16(6, 20, true);
    c.setUint16(8, 0, true);
    c.setUint16(10, 0, true);
    c.setUint32(12, 0, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, data.length, true);
    c.setUint32(24, data.length, true);
    c.setUint16(28, nameBytes.length, true);
    c.setUint32(42, this.offset, true);
    cd.set(nameBytes, 46);

    this.parts.push(local, data);
    this.central.push(cd);
    this.offset += local.length + data.length;
    this.count++;
  }

  /** The archive as consecutive chunks (member data not copied). */
  finish(): Uint8Array[] {
    const cdSize = this.central.reduce((n, p) => n + p.length, 0);
    if (this.offset + cdSize >= LIMIT || this.count >= 0xffff) {
      throw new CheckpointError({ op: this.op, expected: "an archive under 4 GiB and 65535 members (zip64 is not written)", got: `${this.offset + cdSize} bytes, ${this.count} members` });
    }
    const end = new Uint8Array(22);
    const v = new DataView(end.buffer);
    v.setUint32(0, 0x06054b50, true);
    v.setUint16(8, this.count, true);
    v.setUint16(10, this.count, true);
    v.setUint32(12, cdSize, true);
    v.setUint32(16, this.offset, true);
    return [...this.parts, ...this.central, end];
  }
}

function ascii(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
