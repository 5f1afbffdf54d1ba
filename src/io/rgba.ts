// RGBA pixels (the layout of the DOM's ImageData and of canvas readbacks) <-> image tensors, so a
// page, a worker and Node exchange images with the models in the same shape.

import { HostTensor } from "../engine/host-tensor.js";
import { ConfigError, fmtShape } from "../engine/errors.js";

/** ImageData-like: width x height pixels, 4 bytes each (R, G, B, A), row-major. */
export interface RgbaImage {
  readonly data: Uint8ClampedArray | Uint8Array;
  readonly width: number;
  readonly height: number;
}

function checkRgba(img: RgbaImage, op: string): void {
  const ok = Number.isInteger(img.width) && Number.isInteger(img.height) && img.width > 0 && img.height > 0 && img.data.length === img.width * img.height * 4;
  if (!ok) throw new ConfigError({ op, expected: "RGBA pixels: data.length = width * height * 4", got: `width ${img.width}, height ${img.height}, ${img.data.length} bytes` });
}

/**
 * RGBA images of one size -> float32 [B, C, H, W] in [0, 1]. Alpha is dropped; C = 1 converts
 * with ITU-R 601-2 luma (PIL's "L"), as the data pipeline does for grey datasets.
 */
export function rgbaToTensor(images: RgbaImage | readonly RgbaImage[], channels: 1 | 3): HostTensor<Float32Array> {
  const list: readonly RgbaImage[] = Array.isArray(images) ? images : [images as RgbaImage];
  if (list.length === 0) throw new ConfigError({ op: "rgbaToTensor", expected: "at least one image", got: "none" });
  const { width: w, height: h } = list[0]!;
  const plane = w * h;
  const out = new Float32Array(list.length * channels * plane);
  list.forEach((img, b) => {
    checkRgba(img, "rgbaToTensor");
    if (img.width !== w || img.height !== h) {
      throw new ConfigError({ op: "rgbaToTensor", expected: `every image ${w}x${h}`, got: `image ${b} ${img.width}x${img.height}` });
    }
    const d = img.data, base = b * channels * plane;
    for (let p = 0; p < plane; p++) {
      const r = d[4 * p]!, g = d[4 * p + 1]!, bl = d[4 * p + 2]!;
      if (channels === 1) {
        out[base + p] = Math.round(r * 0.299 + g * 0.587 + bl * 0.114) / 255;
      } else {
        out[base + p] = r / 255;
        out[base + plane + p] = g / 255;
        out[base + 2 * plane + p] = bl / 255;
      }
    }
  });
  return new HostTensor("float32", [list.length, channels, h, w], out);
}

/**
 * Image `index` of a float [C, H, W] / [B, C, H, W] tensor (C = 1 or 3) -> RGBA, converted as the
 * official evaluation does: clamp to [0, 1], times 255 in float32, truncated. Alpha is 255.
 */
export function tensorToRgba(t: HostTensor, index = 0): RgbaImage & { readonly data: Uint8ClampedArray } {
  const dims = t.shape.length === 3 ? t.shape : t.shape.length === 4 ? t.shape.slice(1) : null;
  if (!dims || (t.dtype !== "float32" && t.dtype !== "float64") || (dims[0] !== 1 && dims[0] !== 3)) {
    throw new ConfigError({ op: "tensorToRgba", expected: "a float [C, H, W] or [B, C, H, W] tensor with C = 1 or 3", got: `${t.dtype} ${fmtShape(t.shape)}` });
  }
  const [c, h, w] = dims as [number, number, number];
  const n = t.shape.length === 4 ? t.shape[0]! : 1;
  if (!(Number.isInteger(index) && index >= 0 && index < n)) throw new ConfigError({ op: "tensorToRgba", expected: `an image index in [0, ${n})`, got: `${index}` });
  const plane = h * w, src = t.data as Float32Array | Float64Array, base = index * c * plane;
  const out = new Uint8ClampedArray(4 * plane);
  const byte = (v: number) => Math.trunc(Math.fround(Math.min(Math.max(Number.isNaN(v) ? 0 : v, 0), 1) * 255));
  for (let p = 0; p < plane; p++) {
    const r = byte(src[base + p]!);
    out[4 * p] = r;
    out[4 * p + 1] = c === 3 ? byte(src[base + plane + p]!) : r;
    out[4 * p + 2] = c === 3 ? byte(src[base + 2 * plane + p]!) : r;
    out[4 * p + 3] = 255;
  }
  return { data: out, width: w, height: h };
}

/** Whether a value looks like RGBA pixels (ImageData or the same shape of plain object). */
export function isRgbaImage(x: unknown): x is RgbaImage {
  if (typeof x !== "object" || x === null) return false;
  const o = x as Partial<RgbaImage>;
  return (o.data instanceof Uint8ClampedArray || o.data instanceof Uint8Array) && typeof o.width === "number" && typeof o.height === "number";
}
