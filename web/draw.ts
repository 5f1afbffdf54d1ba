// Canvas drawing for the app: model-sized RGBA images scaled up with nearest-neighbour pixels,
// token-cell overlays (dimmed still-masked tokens, the painted mask, selected tokens) and the
// absolute difference of two images.

import type { Pixels } from "./protocol.js";

export function ctx2d(c: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = c.getContext("2d");
  if (!ctx) throw new Error("this browser has no 2d canvas");
  ctx.imageSmoothingEnabled = false;
  return ctx;
}

function bitmapCanvas(p: Pixels): HTMLCanvasElement {
  const c = document.createElement("canvas");
  c.width = p.width;
  c.height = p.height;
  c.getContext("2d")!.putImageData(new ImageData(new Uint8ClampedArray(p.data), p.width, p.height), 0, 0);
  return c;
}

/** Draws `p` into the rectangle (x, y, size, size). */
export function drawPixels(ctx: CanvasRenderingContext2D, p: Pixels, x: number, y: number, size: number): void {
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(bitmapCanvas(p), x, y, size, size);
}

/** Shades the token cells where `cells[i]` is set, over an image drawn at (x, y, size). */
export function shadeCells(ctx: CanvasRenderingContext2D, cells: readonly boolean[], grid: number, x: number, y: number, size: number, style: string): void {
  const s = size / grid;
  ctx.fillStyle = style;
  cells.forEach((on, i) => {
    if (on) ctx.fillRect(x + (i % grid) * s, y + Math.floor(i / grid) * s, s, s);
  });
}

export function outlineCells(ctx: CanvasRenderingContext2D, cells: readonly boolean[], grid: number, size: number, style: string): void {
  const s = size / grid;
  ctx.strokeStyle = style;
  ctx.lineWidth = 2;
  cells.forEach((on, i) => {
    if (on) ctx.strokeRect((i % grid) * s + 1, Math.floor(i / grid) * s + 1, s - 2, s - 2);
  });
}

export function gridLines(ctx: CanvasRenderingContext2D, grid: number, size: number): void {
  const s = size / grid;
  ctx.strokeStyle = "rgba(255,255,255,0.12)";
  ctx.lineWidth = 1;
  for (let i = 1; i < grid; i++) {
    ctx.beginPath();
    ctx.moveTo(i * s + 0.5, 0); ctx.lineTo(i * s + 0.5, size);
    ctx.moveTo(0, i * s + 0.5); ctx.lineTo(size, i * s + 0.5);
    ctx.stroke();
  }
}

/** |a - b| per channel, amplified x4 so that small changes show. */
export function difference(a: Pixels, b: Pixels): Pixels {
  const data = new Uint8ClampedArray(a.data.length);
  for (let i = 0; i < data.length; i += 4) {
    for (let c = 0; c < 3; c++) data[i + c] = Math.abs(a.data[i + c]! - b.data[i + c]!) * 4;
    data[i + 3] = 255;
  }
  return { width: a.width, height: a.height, data };
}

/** Images side by side in rows of `columns`, at their own resolution, as a PNG blob. */
export function gridPng(images: readonly Pixels[], columns: number): Promise<Blob> {
  const w = images[0]!.width, h = images[0]!.height, rows = Math.ceil(images.length / columns);
  const c = document.createElement("canvas");
  c.width = w * Math.min(columns, images.length);
  c.height = h * rows;
  const ctx = ctx2d(c);
  images.forEach((p, i) => ctx.putImageData(new ImageData(new Uint8ClampedArray(p.data), w, h), (i % columns) * w, Math.floor(i / columns) * h));
  return new Promise((resolve, reject) => c.toBlob((b) => (b ? resolve(b) : reject(new Error("PNG encoding failed"))), "image/png"));
}
