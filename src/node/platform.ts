// Node's side of the platform boundary: onnxruntime-node runs the graphs, node:fs reads and
// atomically writes files, sharp decodes the image formats PNG does not cover, and the shipped
// models are found next to this package (not the working directory). Importing this module
// installs all of it; every Node entry point (src/node.ts, the CLI, scripts) does so first.

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as ort from "onnxruntime-node";
import { setExternalDataLoader, setMemoryReclaimer, setOnnxRuntime } from "../engine/runtime/backend.js";
import { createSessionFromFiles } from "./external-data-session.js";
import { writeChunks } from "./write-chunks.js";
import { setPlatform, type FileSystem } from "../io/platform.js";
import type { RgbaImage } from "../io/rgba.js";
import { optionalImport } from "./optional-import.js";
import { SHIPPED_MODELS, type ShippedModelName, type ShippedModelPart } from "../io/shipped-models.js";

export const nodeFileSystem: FileSystem = {
  readFile: (path) => {
    const b = readFileSync(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  },
  writeFileAtomic(path, chunks) {
    // A temp file in the target directory (".<name>.<pid>.<random>.tmp", what the trainers' orphan
    // cleanup looks for), fsynced, then renamed: readers never see a partial file.
    const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
    let fd = -1;
    try {
      fd = openSync(tmp, "wx");
      writeChunks(fd, chunks);
      fsyncSync(fd);
      closeSync(fd);
      fd = -1;
      renameSync(tmp, path);
    } catch (e) {
      if (fd >= 0) closeSync(fd);
      rmSync(tmp, { force: true });
      throw e;
    }
  },
};

/** Decodes JPEG, WebP, GIF, TIFF, ... through sharp (an optional dependency, loaded on first use). */
async function decodeWithSharp(bytes: Uint8Array): Promise<RgbaImage> {
  const sharp = (await optionalImport<typeof import("sharp")>("sharp", "decoding JPEG, WebP and other non-PNG images")).default;
  const { data, info } = await sharp(bytes, { failOn: "error", limitInputPixels: 64 * 2 ** 20 }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

/** The package's models/ folder (src/node/ and dist/node/ are both two levels below the package root). */
export const SHIPPED_MODELS_DIR = fileURLToPath(new URL("../../models/", import.meta.url));

/** The path of a shipped model's file (SHIPPED_MODELS in src/models/model-source.ts is the one table). */
export function shippedModelPath(part: ShippedModelPart, name: ShippedModelName = "fmnist"): string {
  return join(SHIPPED_MODELS_DIR, SHIPPED_MODELS[name][part]);
}

setOnnxRuntime(ort, "onnxruntime-node");
// A full collection on demand (after compiling from large model bytes): V8 exposes gc() to
// contexts created after the flag is set, without a command-line flag for the whole process.
setFlagsFromString("--expose-gc");
setMemoryReclaimer(runInNewContext("gc") as () => void);
setExternalDataLoader(createSessionFromFiles);
setPlatform({ name: "node", fs: nodeFileSystem, decodeImage: decodeWithSharp, shippedModels: SHIPPED_MODELS_DIR });
