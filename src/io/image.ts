// Image files <-> tensors through sharp (libvips): decode anything sharp reads to [C, H, W] float32
// in [0, 1], encode [C, H, W] / [B, C, H, W] tensors to PNG, and lay batches out as labelled grids.
// Pixel maths that must match the official pipeline (PIL-style resizing) lives in src/data.

import sharp, { type Sharp } from "sharp";
import { fileSystem } from "./platform.js";
import { HostTensor } from "../engine/host-tensor.js";
import { ConfigError, fmtShape } from "../engine/errors.js";
import { DataError } from "./data-error.js";
import { fromInterleaved, planarImage, toChannels, toInterleaved, writeUnitFloats, type PlanarImage } from "./planar.js";
import { resizeShorterCenterCrop } from "./resample.js";

/** A file path, or the encoded bytes of an image. */
export type ImageSource = string | Uint8Array;

export interface DecodeOptions {
  /** 1 = grey (PIL "L" luma), 3 = RGB; default: 1 for grey files, else 3. Alpha is dropped. */
  readonly channels?: 1 | 3;
  /**
   * Width x height above which a file is refused before decoding (default DEFAULT_MAX_PIXELS,
   * 8192 x 8192): a compressed image of a few hundred KB can declare gigabytes of pixels.
   */
  readonly maxPixels?: number;
}

export const DEFAULT_MAX_PIXELS = 8192 * 8192;

const describe = (source: ImageSource): string => (typeof source === "string" ? source : `<${source.length} bytes>`);

/** Decodes to a uint8 planar image (what datasets hold). */
export async function decodeImage8(source: ImageSource, options: DecodeOptions = {}): Promise<PlanarImage<Uint8Array>> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  try {
    // metadata() reads only the header, so the size is checked before any pixel is decoded; the
    // decoding pipeline carries the same bound (limitInputPixels) in case the header lied.
    const meta = await sharp(source, { failOn: "error", limitInputPixels: false }).metadata();
    const pixels = (meta.width ?? 0) * (meta.height ?? 0);
    if (pixels > maxPixels) {
      throw new DataError({
        op: "decodeImage", file: describe(source), expected: `at most maxPixels = ${maxPixels} pixels`,
        got: `${meta.width} x ${meta.height} = ${pixels} pixels`, hint: "refused before decoding; pass a larger maxPixels if the image is trusted",
      });
    }
    // Converting to sRGB also rescales 16-bit files to 8 bits; grey files become 3 equal planes.
    const img = sharp(source, { failOn: "error", limitInputPixels: maxPixels });
    const { data, info } = await img.toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
    const rgbOrRgba = fromInterleaved(data, info.channels, info.height, info.width);
    const rgb = info.channels === 3 ? rgbOrRgba : planarImage(rgbOrRgba.data.subarray(0, 3 * info.width * info.height), 3, info.height, info.width);
    const isGrey = (meta.channels ?? 3) <= 2;
    return toChannels(rgb, options.channels ?? (isGrey ? 1 : 3));
  } catch (e) {
    if (e instanceof ConfigError || e instanceof DataError) throw e;
    throw new DataError({ op: "decodeImage", file: describe(source), expected: "an image file sharp can decode (PNG, JPEG, WebP, …)", got: (e as Error).message });
  }
}

/** uint8 planar image -> float32 [C, H, W] in [0, 1] (torchvision ToTensor). */
export function imageToTensor(img: PlanarImage<Uint8Array>): HostTensor<Float32Array> {
  return new HostTensor("float32", [img.channels, img.height, img.width], writeUnitFloats(img.data, new Float32Array(img.data.length)));
}

/** Decodes to float32 [C, H, W] in [0, 1]. */
export async function decodeImage(source: ImageSource, options: DecodeOptions = {}): Promise<HostTensor<Float32Array>> {
  return imageToTensor(await decodeImage8(source, options));
}

/**
 * Decodes and applies the evaluation transform: shorter side resized to `size` (bilinear, on uint8
 * pixels like PIL), centre crop size x size, then [0, 1] floats.
 */
export async function loadForEval(source: ImageSource, size: number, options: DecodeOptions = {}): Promise<HostTensor<Float32Array>> {
  return imageToTensor(resizeShorterCenterCrop(await decodeImage8(source, options), size));
}

/**
 * Image `index` of a float [C, H, W] or [B, C, H, W] tensor to uint8 as the official evaluation
 * does: clamp to [0, 1], multiply by 255 in float32, truncate.
 */
export function tensorToImage8(t: HostTensor, index = 0): PlanarImage<Uint8Array> {
  const [c, h, w] = imageDims(t, "tensorToImage8");
  const n = t.shape.length === 4 ? t.shape[0]! : 1;
  if (!(Number.isInteger(index) && index >= 0 && index < n)) {
    throw new ConfigError({ op: "tensorToImage8", expected: `an image index in [0, ${n})`, got: `${index}` });
  }
  const per = c * h * w, src = t.data as Float32Array | Float64Array, out = new Uint8Array(per);
  for (let i = 0; i < per; i++) {
    const v = Math.min(Math.max(src[index * per + i]!, 0), 1); // NaN stays NaN and stores as 0
    out[i] = Math.fround(v * 255); // float32 product (as torch computes it), truncated on store
  }
  return planarImage(out, c, h, w);
}

function imageDims(t: HostTensor, op: string): [number, number, number] {
  const dims = t.shape.length === 3 ? t.shape : t.shape.length === 4 ? t.shape.slice(1) : null;
  if (!dims || (t.dtype !== "float32" && t.dtype !== "float64") || (dims[0] !== 1 && dims[0] !== 3)) {
    throw new ConfigError({ op, expected: "a float [C, H, W] or [B, C, H, W] tensor with C = 1 or 3", got: `${t.dtype} ${fmtShape(t.shape)}` });
  }
  return dims as [number, number, number];
}

/** PNG bytes of a uint8 planar image. */
export async function encodePng8(img: PlanarImage<Uint8Array>): Promise<Buffer> {
  return rawPipeline(img).png().toBuffer();
}

function rawPipeline(img: PlanarImage<Uint8Array>): Sharp {
  const pipeline = sharp(toInterleaved(img), { raw: { width: img.width, height: img.height, channels: img.channels as 1 | 3 } });
  // Without this sharp would write single-channel data as RGB.
  return img.channels === 1 ? pipeline.toColourspace("b-w") : pipeline;
}

/** PNG bytes of a [C, H, W] tensor; a [B, C, H, W] batch becomes a grid (8 per row, like save_image). */
export async function encodePng(t: HostTensor): Promise<Buffer> {
  imageDims(t, "encodePng");
  if (t.shape.length === 4 && t.shape[0] !== 1) return makeGrid(t);
  return encodePng8(tensorToImage8(t));
}

export async function writePng(path: string, t: HostTensor): Promise<void> {
  // Atomic (temp + fsync + rename, the platform writer src/node/atomic-file.ts also uses): a killed
  // or disk-full write never leaves a truncated PNG in place of a previous one.
  const png = await encodePng(t);
  fileSystem("writePng", path).writeFileAtomic(path, [png]);
}

export interface GridOptions {
  /** Images per row; default min(B, 8). */
  readonly cols?: number;
  /** Pixels around and between cells; default 2. */
  readonly padding?: number;
  /** Background in [0, 1]; default 0 (black). */
  readonly padValue?: number;
  /** One label per row, drawn in a column on the left. */
  readonly rowLabels?: readonly string[];
  /** Font size in pixels; default scales with the cell height (at least 10). */
  readonly fontSize?: number;
}

/** PNG bytes of a [B, C, H, W] batch laid out rows x cols, optionally with a label per row. */
export async function makeGrid(batch: HostTensor, options: GridOptions = {}): Promise<Buffer> {
  const [c0, h, w] = imageDims(batch, "makeGrid");
  const n = batch.shape.length === 4 ? batch.shape[0]! : 1;
  const cols = options.cols ?? Math.min(n, 8), pad = options.padding ?? 2;
  if (!(Number.isInteger(cols) && cols >= 1 && Number.isInteger(pad) && pad >= 0)) {
    throw new ConfigError({ op: "makeGrid", expected: "integer cols >= 1 and padding >= 0", got: `cols ${cols}, padding ${pad}` });
  }
  const rows = Math.ceil(n / cols);
  const labels = options.rowLabels;
  if (labels && labels.length !== rows) {
    throw new ConfigError({ op: "makeGrid", expected: `${rows} row labels (${n} images, ${cols} per row)`, got: `${labels.length}` });
  }
  const fontSize = options.fontSize ?? Math.max(10, Math.round(h * 0.4));
  const labelWidth = labels ? Math.ceil(Math.max(...labels.map((l) => l.length), 1) * fontSize * 0.62) + 2 * pad : 0;
  // Labels are coloured, so a labelled grid is always RGB.
  const c = labels ? 3 : c0;
  const width = labelWidth + cols * (w + pad) + pad, height = rows * (h + pad) + pad;
  const background = Math.trunc(Math.fround(Math.min(Math.max(options.padValue ?? 0, 0), 1) * 255));
  const canvas = new Uint8Array(c * height * width).fill(background);
  for (let i = 0; i < n; i++) {
    const img = toChannels(tensorToImage8(batch, i), c as 1 | 3);
    const top = pad + Math.floor(i / cols) * (h + pad), left = labelWidth + pad + (i % cols) * (w + pad);
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) canvas.set(img.data.subarray((ch * h + y) * w, (ch * h + y + 1) * w), (ch * height + top + y) * width + left);
    }
  }
  const pipeline = rawPipeline(planarImage(canvas, c, height, width));
  if (!labels) return pipeline.png().toBuffer();
  const fill = background < 128 ? "#ffffff" : "#000000";
  const texts = labels.map((label, r) => {
    const y = pad + r * (h + pad) + h / 2;
    return `<text x="${pad}" y="${y}" dominant-baseline="central" font-family="DejaVu Sans, sans-serif" font-size="${fontSize}" fill="${fill}">${escapeXml(label)}</text>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${texts.join("")}</svg>`;
  return pipeline.composite([{ input: Buffer.from(svg), top: 0, left: 0 }]).png().toBuffer();
}

export async function writeGrid(path: string, batch: HostTensor, options: GridOptions = {}): Promise<void> {
  const png = await makeGrid(batch, options);
  fileSystem("writeGrid", path).writeFileAtomic(path, [png]);
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[ch]!);
}
