// PNG bytes <-> RGBA pixels in plain TypeScript (fflate's zlib, no native code), so Node, a
// browser and a Web Worker read uploads and write results identically. Decoding covers every
// standard non-interlaced PNG: grey, grey+alpha, RGB, RGBA and palette images, bit depths 1-16
// (16-bit samples keep their high byte). Interlaced (Adam7) files are refused with a hint.

import { unzlibSync, zlibSync } from "fflate";
import { ConfigError } from "../engine/errors.js";
import type { RgbaImage } from "./rgba.js";
import { crc32 } from "./crc32.js";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Refuse images above this many pixels before inflating anything (RGBA at 4 bytes each: 256 MB). */
export const DEFAULT_MAX_PNG_PIXELS = 64 * 2 ** 20;

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

export interface PngOptions {
  /** 1 writes a grey PNG (the R channel), 3 RGB, 4 RGBA; default 3. */
  readonly channels?: 1 | 3 | 4;
}

/** Encodes RGBA pixels as a PNG. */
export function encodePngRgba(img: RgbaImage, o: PngOptions = {}): Uint8Array {
  const c = o.channels ?? 3;
  const { width: w, height: h, data } = img;
  if (data.length !== w * h * 4) throw new ConfigError({ op: "encodePngRgba", expected: "data.length = width * height * 4", got: `${data.length} for ${w}x${h}` });
  const stride = w * c + 1;
  const raw = new Uint8Array(stride * h);
  for (let y = 0; y < h; y++) {
    raw[y * stride] = 0; // filter: none (deflate does the work on these small images)
    for (let x = 0; x < w; x++) {
      const src = 4 * (y * w + x), dst = y * stride + 1 + x * c;
      for (let k = 0; k < c; k++) raw[dst + k] = data[src + k]!;
    }
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, w);
  v.setUint32(4, h);
  ihdr[8] = 8;
  ihdr[9] = c === 1 ? 0 : c === 3 ? 2 : 6;
  const chunks = [chunk("IHDR", ihdr), chunk("IDAT", zlibSync(raw, { level: 6 })), chunk("IEND", new Uint8Array(0))];
  const out = new Uint8Array(8 + chunks.reduce((n, x) => n + x.length, 0));
  out.set(SIGNATURE, 0);
  let at = 8;
  for (const x of chunks) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  v.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

export interface DecodedPng extends RgbaImage {
  readonly data: Uint8ClampedArray;
  /** Whether the file was grey (colour types 0 and 4). */
  readonly grey: boolean;
}

/** Decodes a PNG to RGBA, refusing images above `maxPixels` before inflating. */
export function decodePng(bytes: Uint8Array, name = "<png>", maxPixels = DEFAULT_MAX_PNG_PIXELS): DecodedPng {
  const fail = (expected: string, got: string, hint?: string) => new ConfigError({ op: "decodePng", scope: name, expected, got, hint });
  if (!isPng(bytes)) throw fail("a PNG file (signature 89 50 4E 47)", `${bytes.length} bytes starting ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ")}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  let header: { w: number; h: number; depth: number; type: number; interlace: number } | undefined;
  let palette: Uint8Array | undefined;
  let trns: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  while (at + 12 <= bytes.length) {
    const len = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (at + 12 + len > bytes.length) throw fail(`a ${len}-byte ${type} chunk inside the file`, `${bytes.length - at - 12} bytes left`, "truncated file?");
    const body = bytes.subarray(at + 8, at + 8 + len);
    if (type === "IHDR") {
      if (len !== 13) throw fail("a 13-byte IHDR", `${len} bytes`);
      header = { w: view.getUint32(at + 8), h: view.getUint32(at + 12), depth: body[8]!, type: body[9]!, interlace: body[12]! };
      if (header.w === 0 || header.h === 0) throw fail("a non-empty image", `${header.w}x${header.h}`);
      if (header.w * header.h > maxPixels) throw fail(`at most ${maxPixels} pixels`, `${header.w}x${header.h}`, "raise the pixel limit if this image is intended");
      if (header.interlace !== 0) throw fail("a non-interlaced PNG", "Adam7 interlacing", "re-save the image without interlacing");
      const okDepth: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
      if (!okDepth[header.type]?.includes(header.depth)) throw fail("a standard PNG colour type and bit depth", `type ${header.type}, depth ${header.depth}`);
    } else if (type === "PLTE") palette = body;
    else if (type === "tRNS") trns = body;
    else if (type === "IDAT") idat.push(body);
    else if (type === "IEND") break;
    at += 12 + len;
  }
  if (!header) throw fail("an IHDR chunk", "none");
  if (idat.length === 0) throw fail("image data (IDAT)", "none", "truncated file?");
  const { w, h, depth, type } = header;
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[type]!;
  const bitsPerPixel = channels * depth;
  const stride = Math.ceil((w * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const joined = idat.length === 1 ? idat[0]! : concat(idat);
  let raw: Uint8Array;
  try {
    raw = unzlibSync(joined, { out: new Uint8Array((stride + 1) * h) });
  } catch (e) {
    throw fail("zlib-compressed image data", (e as Error).message, "truncated or corrupt file?");
  }
  if (raw.length < (stride + 1) * h) throw fail(`${(stride + 1) * h} bytes of image data`, `${raw.length}`, "truncated file?");
  const pixels = unfilter(raw, stride, h, bpp, fail);
  if (type === 3 && !palette) throw fail("a PLTE chunk for a palette image", "none");
  const out = new Uint8ClampedArray(w * h * 4);
  const sample = (row: number, i: number): number => {
    // The i-th sample of a row, scaled to 8 bits (16-bit keeps its high byte).
    const base = row * stride;
    if (depth === 8) return pixels[base + i]!;
    if (depth === 16) return pixels[base + 2 * i]!;
    const perByte = 8 / depth, byte = pixels[base + Math.floor(i / perByte)]!;
    const shift = 8 - depth * ((i % perByte) + 1);
    return (byte >> shift) & ((1 << depth) - 1);
  };
  const scale = type === 3 ? 1 : depth < 8 ? 255 / ((1 << depth) - 1) : 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = 4 * (y * w + x);
      if (type === 3) {
        const idx = sample(y, x);
        out[o] = palette![3 * idx] ?? 0;
        out[o + 1] = palette![3 * idx + 1] ?? 0;
        out[o + 2] = palette![3 * idx + 2] ?? 0;
        out[o + 3] = trns?.[idx] ?? 255;
      } else if (type === 0 || type === 4) {
        const g = Math.round(sample(y, x * channels) * scale);
        out[o] = out[o + 1] = out[o + 2] = g;
        out[o + 3] = type === 4 ? sample(y, x * channels + 1) : 255;
      } else {
        out[o] = sample(y, x * channels);
        out[o + 1] = sample(y, x * channels + 1);
        out[o + 2] = sample(y, x * channels + 2);
        out[o + 3] = type === 6 ? sample(y, x * channels + 3) : 255;
      }
    }
  }
  return { data: out, width: w, height: h, grey: type === 0 || type === 4 };
}

function unfilter(raw: Uint8Array, stride: number, h: number, bpp: number, fail: (e: string, g: string) => Error): Uint8Array {
  const out = new Uint8Array(stride * h);
  for (let y = 0; y < h; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = out.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? out.subarray((y - 1) * stride, y * stride) : undefined;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? row[i - bpp]! : 0, b = up ? up[i]! : 0, c = up && i >= bpp ? up[i - bpp]! : 0;
      let pred: number;
      switch (filter) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) >> 1; break;
        case 4: {
          const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw fail("a PNG row filter in 0..4", `${filter} in row ${y}`);
      }
      row[i] = (src[i]! + pred) & 0xff;
    }
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
