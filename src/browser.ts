// The browser / Web Worker entry point ("maskbit" for bundlers): onnxruntime-web (wasm, WebGPU
// where the browser has it), image decoding through createImageBitmap where available, and the
// shipped models located relative to this module; then the platform-free API.

import * as ort from "onnxruntime-web";
import { setOnnxRuntime } from "./engine/runtime/backend.js";
import { setPlatform } from "./io/platform.js";
import { ConfigError } from "./engine/errors.js";
import type { RgbaImage } from "./io/rgba.js";

/** Any format the browser decodes (JPEG, WebP, GIF, ...), through an OffscreenCanvas. */
async function decodeInBrowser(bytes: Uint8Array): Promise<RgbaImage> {
  const g = globalThis as unknown as {
    createImageBitmap?: (b: Blob) => Promise<{ width: number; height: number; close(): void }>;
    OffscreenCanvas?: new (w: number, h: number) => { getContext(kind: "2d"): { drawImage(i: unknown, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): RgbaImage } | null };
  };
  if (!g.createImageBitmap || !g.OffscreenCanvas) throw new ConfigError({ op: "decodeImage", expected: "createImageBitmap and OffscreenCanvas (a browser or Web Worker)", got: "neither", hint: "pass PNG bytes or RGBA pixels" });
  const bitmap = await g.createImageBitmap(new Blob([bytes as BlobPart]));
  const { width, height } = bitmap;
  const canvas = new g.OffscreenCanvas(width, height);
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new ConfigError({ op: "decodeImage", expected: "a 2d canvas context", got: "none" });
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return ctx.getImageData(0, 0, width, height);
}

setOnnxRuntime(ort, "onnxruntime-web");
setPlatform({ name: "browser", decodeImage: decodeInBrowser, shippedModels: new URL("../models/", import.meta.url) });

export * from "./index.js";
