// Token masks for editing: which tokens (or which bit groups of which tokens) of an id grid are
// unknown and should be regenerated. Platform-free: masks are HostTensors or typed arrays.
//
//   token mask  bool [B, h, w]     true = the whole token is unknown
//   group mask  bool [B, h, w, N]  true = group n of the token is unknown (its other groups are kept)
//
// A pixel mask maps to tokens by the tokenizer's geometry: token (ty, tx) covers pixels
// [ty*s, (ty+1)*s) x [tx*s, (tx+1)*s) for stride s; for an image side that is not a multiple of s
// the grid is ceil(side / s) tokens (as Tokenizer.encode rounds up) and the last token row/column
// covers the leftover pixels only. A token is unknown when ANY of its pixels is masked, and the
// result is then widened by `widen` tokens (default 1) in every direction, because the decoder is
// convolutional: the pixels of a token also depend on its neighbours' latents, so the tokens just
// outside a hole would otherwise keep colours and edges that belonged to the removed content and
// show it as a halo around the inpainted region. widen 0 regenerates exactly the covered tokens.

import { HostTensor } from "../../engine/host-tensor.js";
import { FeedError, fmtShape } from "../../engine/errors.js";
import { checkRegion, type IdRegion } from "../tokenizer/bit-planes.js";

export interface PixelMaskOptions {
  /** Pixels per token along each axis (Tokenizer.stride). */
  readonly stride: number;
  /** Grow the token mask by this many tokens in every direction (default 1; 0 = exactly the covered tokens). */
  readonly widen?: number;
  /** A pixel is masked when its value is >= threshold (default 0.5: white = masked on a [0, 1] image). */
  readonly threshold?: number;
  /** The expected image size [H, W]: a mask of another size is an error. */
  readonly imageSize?: readonly [number, number];
}

const OP = "pixelMaskToTokenMask";

/** Token grid [h, w] of an H x W image at stride s: ceil(H / s) x ceil(W / s). */
export const tokenGridOf = (height: number, width: number, stride: number): [number, number] => [Math.ceil(height / stride), Math.ceil(width / stride)];

/**
 * A pixel mask, float [H, W], [1, H, W] or [1, 1, H, W] (e.g. a decoded grey PNG in [0, 1]) -> a token
 * mask bool [1, h, w] under the rule in the header. Throws a FeedError for a mask that is not an
 * image of the expected size or that masks nothing.
 */
export function pixelMaskToTokenMask(mask: HostTensor, o: PixelMaskOptions): HostTensor<Uint8Array> {
  const dims = mask.shape;
  const spatial = dims.length >= 2 && dims.slice(0, -2).every((d) => d === 1);
  if (!spatial || (mask.dtype !== "float32" && mask.dtype !== "float64" && mask.dtype !== "bool" && mask.dtype !== "uint8")) {
    throw new FeedError({ op: OP, expected: "a one-channel pixel mask [H, W], [1, H, W] or [1, 1, H, W] (float, bool or uint8)", got: `${mask.dtype}${fmtShape(dims)}`, hint: "give the mask as a single grey image" });
  }
  const height = dims[dims.length - 2]!, width = dims[dims.length - 1]!;
  if (o.imageSize && (o.imageSize[0] !== height || o.imageSize[1] !== width)) {
    throw new FeedError({ op: OP, expected: `a ${o.imageSize[1]}x${o.imageSize[0]} mask (the image's size)`, got: `${width}x${height}` });
  }
  const s = o.stride, widen = o.widen ?? 1;
  if (!(Number.isInteger(s) && s >= 1) || !(Number.isInteger(widen) && widen >= 0)) {
    throw new FeedError({ op: OP, expected: "an integer stride >= 1 and widen >= 0", got: `stride ${s}, widen ${widen}` });
  }
  if (height < 1 || width < 1) throw new FeedError({ op: OP, expected: "a non-empty mask", got: `${width}x${height}` });
  const threshold = o.threshold ?? (mask.dtype === "float32" || mask.dtype === "float64" ? 0.5 : 1);
  const [h, w] = tokenGridOf(height, width, s);
  const covered = new Uint8Array(h * w);
  const data = mask.data as ArrayLike<number>;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) if (data[y * width + x]! >= threshold) covered[Math.floor(y / s) * w + Math.floor(x / s)] = 1;
  }
  if (!covered.includes(1)) {
    throw new FeedError({ op: OP, expected: "a mask with at least one masked pixel", got: `nothing >= ${threshold} in ${width}x${height}`, hint: "masked pixels are the white ones" });
  }
  return new HostTensor("bool", [1, h, w], widenMask(covered, h, w, widen));
}

/** A [h, w] 0/1 grid grown by `r` cells in every direction (a (2r+1) x (2r+1) square), clipped to the grid. */
export function widenMask(cells: Uint8Array, h: number, w: number, r: number): Uint8Array {
  if (r === 0) return cells.slice();
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!cells[y * w + x]) continue;
      for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++) out.fill(1, yy * w + Math.max(0, x - r), yy * w + Math.min(w - 1, x + r) + 1);
    }
  }
  return out;
}

/** A token region: columns [x, x + width), rows [y, y + height). */
export type TokenRegion = IdRegion;

/** A bool [1, h, w] token mask that is true on `region` (clipped to the grid must not be empty). */
export function regionTokenMask(h: number, w: number, region: TokenRegion): HostTensor<Uint8Array> {
  checkRegion("regionTokenMask", h, w, region);
  const out = new Uint8Array(h * w);
  for (let y = region.y; y < region.y + region.height; y++) out.fill(1, y * w + region.x, y * w + region.x + region.width);
  return new HostTensor("bool", [1, h, w], out);
}

/**
 * A group mask bool [B, h, w, N] from a token mask [B, h, w]: of every unknown token only the groups
 * listed in `groups` are unknown, the others keep their bits (group n holds bits [n*b, (n+1)*b)).
 */
export function groupMask(tokenMask: HostTensor, groups: readonly number[], numGroups: number): HostTensor<Uint8Array> {
  if (tokenMask.shape.length !== 3) throw new FeedError({ op: "groupMask", expected: "a token mask [B, h, w]", got: fmtShape(tokenMask.shape) });
  const bad = groups.find((g) => !Number.isInteger(g) || g < 0 || g >= numGroups);
  if (groups.length === 0 || bad !== undefined) {
    throw new FeedError({ op: "groupMask", expected: `one or more group indices in [0, ${numGroups})`, got: groups.length ? `${bad}` : "none" });
  }
  const src = tokenMask.data as ArrayLike<number | bigint>, out = new Uint8Array(src.length * numGroups);
  for (let t = 0; t < src.length; t++) if (Number(src[t])) for (const g of groups) out[t * numGroups + g] = 1;
  return new HostTensor("bool", [...tokenMask.shape, numGroups], out);
}
