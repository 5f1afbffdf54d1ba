// Bit-plane edits on LFQ token ids: flip, set or clear bit `plane` of every id in a token region.
// Bit j of an id is latent channel j (channel 0 = least significant bit), so a plane edit is the
// same as negating, forcing +1 or forcing -1 one latent channel before the decoder; decoding the
// edited ids shows what that channel encodes. Platform-free: int64 HostTensors in and out.

import { HostTensor } from "../../engine/host-tensor.js";
import { FeedError, fmtShape } from "../../engine/errors.js";

/** A token region: columns [x, x + width), rows [y, y + height); default the whole grid. */
export interface IdRegion {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Throws unless `r` is a non-empty integer rectangle inside an h x w grid. */
export function checkRegion(op: string, h: number, w: number, r: IdRegion): void {
  const ints = [r.x, r.y, r.width, r.height].every(Number.isInteger);
  if (!ints || r.x < 0 || r.y < 0 || r.width < 1 || r.height < 1 || r.x + r.width > w || r.y + r.height > h) {
    throw new FeedError({ op, expected: `a non-empty integer region inside the ${w}x${h} token grid`, got: `x ${r.x}, y ${r.y}, width ${r.width}, height ${r.height}` });
  }
}

export type BitPlaneEdit = "flip" | "set" | "clear";

export interface BitPlaneOptions {
  /** A rectangle of tokens; default the whole grid. */
  readonly region?: IdRegion;
  /** Or any set of tokens: h*w flags, row-major, applied to every image of the batch (not with region). */
  readonly mask?: ArrayLike<boolean | number>;
  /** Bits per id (the tokenizer's token size); when given, the plane must be below it. */
  readonly tokenBits?: number;
}

/** A copy of ids int64 [B, h, w] with bit `plane` flipped, set or cleared inside the region. */
export function editBitPlane(ids: HostTensor, plane: number, edit: BitPlaneEdit, o: BitPlaneOptions = {}): HostTensor<BigInt64Array> {
  const op = `${edit}BitPlane`;
  if (ids.dtype !== "int64" || ids.shape.length !== 3) throw new FeedError({ op, expected: "ids int64[B, h, w]", got: `${ids.dtype}${fmtShape(ids.shape)}` });
  const [batch, h, w] = ids.shape as [number, number, number];
  const planes = o.tokenBits ?? 62;
  if (!Number.isInteger(plane) || plane < 0 || plane >= planes) {
    throw new FeedError({ op, expected: `a bit plane in [0, ${planes})`, got: `${plane}`, hint: "plane 0 is the least significant bit (latent channel 0)" });
  }
  const selected = tokenSelection(op, h, w, o);
  const bit = 1n << BigInt(plane), out = (ids.data as BigInt64Array).slice();
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < h * w; t++) {
      if (!selected[t]) continue;
      const i = b * h * w + t;
      out[i] = edit === "flip" ? out[i]! ^ bit : edit === "set" ? out[i]! | bit : out[i]! & ~bit;
    }
  }
  return new HostTensor("int64", ids.shape, out);
}

/** The edited tokens of one h x w grid as flags, from a region or a mask (whole grid by default). */
function tokenSelection(op: string, h: number, w: number, o: BitPlaneOptions): Uint8Array {
  const selected = new Uint8Array(h * w);
  if (o.mask !== undefined) {
    if (o.region !== undefined) throw new FeedError({ op, expected: "a region or a mask", got: "both" });
    if (o.mask.length !== h * w) throw new FeedError({ op, expected: `a mask of ${h * w} tokens (the ${w}x${h} grid, row-major)`, got: `${o.mask.length}` });
    for (let t = 0; t < h * w; t++) selected[t] = o.mask[t] ? 1 : 0;
    if (!selected.includes(1)) throw new FeedError({ op, expected: "a mask that selects at least one token", got: "none selected" });
    return selected;
  }
  const r = o.region ?? { x: 0, y: 0, width: w, height: h };
  checkRegion(op, h, w, r);
  for (let y = r.y; y < r.y + r.height; y++) selected.fill(1, y * w + r.x, y * w + r.x + r.width);
  return selected;
}

export const flipBitPlane = (ids: HostTensor, plane: number, o?: BitPlaneOptions) => editBitPlane(ids, plane, "flip", o);
export const setBitPlane = (ids: HostTensor, plane: number, o?: BitPlaneOptions) => editBitPlane(ids, plane, "set", o);
export const clearBitPlane = (ids: HostTensor, plane: number, o?: BitPlaneOptions) => editBitPlane(ids, plane, "clear", o);
