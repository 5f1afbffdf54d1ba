// Images as planar (channel-major) pixel arrays, [C, H, W] like the tensors they become. Uint8
// images behave like PIL images (results are rounded back to 0..255); float images are left as is.

import { ConfigError } from "../engine/errors.js";

export type PixelArray = Uint8Array | Float32Array;

export interface PlanarImage<T extends PixelArray = PixelArray> {
  readonly data: T;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

/** Builds a planar image, checking that `data` holds exactly C*H*W values. */
export function planarImage<T extends PixelArray>(data: T, channels: number, height: number, width: number): PlanarImage<T> {
  if (data.length !== channels * height * width) {
    throw new ConfigError({ op: "planarImage", expected: `${channels * height * width} values for [${channels}, ${height}, ${width}]`, got: `${data.length}` });
  }
  return { data, channels, height, width };
}

/** A zeroed array of the same kind as `like`. */
export function allocLike<T extends PixelArray>(like: T, length: number): T {
  return (like instanceof Uint8Array ? new Uint8Array(length) : new Float32Array(length)) as T;
}

/** Interleaved [H, W, C] bytes (what decoders produce) to a planar image. */
export function fromInterleaved(hwc: Uint8Array, channels: number, height: number, width: number): PlanarImage<Uint8Array> {
  const plane = height * width;
  const out = new Uint8Array(channels * plane);
  for (let c = 0; c < channels; c++) {
    for (let p = 0, q = c; p < plane; p++, q += channels) out[c * plane + p] = hwc[q]!;
  }
  return planarImage(out, channels, height, width);
}

/** A planar image to interleaved [H, W, C] bytes (what encoders take). */
export function toInterleaved(img: PlanarImage<Uint8Array>): Uint8Array {
  const { channels, height, width, data } = img;
  const plane = height * width;
  const out = new Uint8Array(channels * plane);
  for (let c = 0; c < channels; c++) {
    for (let p = 0, q = c; p < plane; p++, q += channels) out[q] = data[c * plane + p]!;
  }
  return out;
}

/**
 * Converts to 1 or 3 channels. Grey to RGB repeats the plane; RGB to grey uses PIL's "L"
 * conversion (ITU-R 601-2 luma in 16-bit fixed point, rounded) so grey datasets built here match
 * ones converted with Image.convert("L").
 */
export function toChannels<T extends PixelArray>(img: PlanarImage<T>, channels: 1 | 3): PlanarImage<T> {
  if (img.channels === channels) return img;
  const plane = img.height * img.width;
  const out = allocLike(img.data, channels * plane);
  if (img.channels === 1 && channels === 3) {
    for (let c = 0; c < 3; c++) out.set(img.data.subarray(0, plane), c * plane);
  } else if (img.channels === 3 && channels === 1) {
    const d = img.data;
    if (d instanceof Uint8Array) {
      for (let p = 0; p < plane; p++) out[p] = (d[p]! * 19595 + d[plane + p]! * 38470 + d[2 * plane + p]! * 7471 + 0x8000) >>> 16;
    } else {
      for (let p = 0; p < plane; p++) out[p] = d[p]! * 0.299 + d[plane + p]! * 0.587 + d[2 * plane + p]! * 0.114;
    }
  } else {
    throw new ConfigError({ op: "toChannels", expected: "an image with 1 or 3 channels", got: `${img.channels} channels` });
  }
  return planarImage(out, channels, img.height, img.width);
}

/** Mirrors left-right. */
export function flipHorizontal<T extends PixelArray>(img: PlanarImage<T>): PlanarImage<T> {
  const { channels, height, width, data } = img;
  const out = allocLike(data, data.length);
  for (let row = 0; row < channels * height; row++) {
    const base = row * width;
    for (let x = 0; x < width; x++) out[base + x] = data[base + width - 1 - x]!;
  }
  return planarImage(out, channels, height, width);
}

/** The [height, width] window at (top, left); parts outside the image are filled with `fill`. */
export function cropOrPad<T extends PixelArray>(img: PlanarImage<T>, top: number, left: number, height: number, width: number, fill = 0): PlanarImage<T> {
  const out = allocLike(img.data, img.channels * height * width);
  if (fill !== 0) out.fill(fill);
  const y0 = Math.max(0, top), y1 = Math.min(img.height, top + height);
  const x0 = Math.max(0, left), x1 = Math.min(img.width, left + width);
  for (let c = 0; c < img.channels; c++) {
    for (let y = y0; y < y1; y++) {
      const src = (c * img.height + y) * img.width;
      const dst = (c * height + y - top) * width - left;
      out.set(img.data.subarray(src + x0, src + x1), dst + x0);
    }
  }
  return planarImage(out, img.channels, height, width);
}

/**
 * torchvision's CenterCrop: crops around the centre (offset rounded half-to-even, as Python's
 * round does) and zero-pads, floor(diff / 2) before and the rest after, when the image is smaller.
 */
export function centerCropOrPad<T extends PixelArray>(img: PlanarImage<T>, height: number, width: number): PlanarImage<T> {
  if (img.height === height && img.width === width) return img;
  const offset = (have: number, want: number) => (have >= want ? roundHalfEven((have - want) / 2) : -Math.floor((want - have) / 2));
  return cropOrPad(img, offset(img.height, height), offset(img.width, width), height, width);
}

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/** torchvision's ToTensor scaling, uint8 -> float32 v / 255, written into `out` at `offset`. */
export function writeUnitFloats(src: Uint8Array, out: Float32Array, offset = 0): Float32Array {
  for (let i = 0; i < src.length; i++) out[offset + i] = TO_UNIT[src[i]!]!;
  return out;
}
