// Node's ExternalDataLoader (src/engine/runtime/backend.ts): a session whose weights are resident is
// created from files rather than bytes. The model and its weights are written to a private
// temporary directory, ONNX Runtime opens the model by path and reads the weights from the file
// beside it, and the directory is removed as soon as the session exists. From bytes, ORT parsed
// the whole protobuf, weights included: the 14-bit sampler's compile peaked at about three times
// the weights beyond the JS copy, from a file at about once (BENCHMARKS.md "Resident weights from a file").

import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import type { ExternalDataLoader } from "../engine/runtime/backend.js";
import { writeChunks } from "./write-chunks.js";

function writeFile(path: string, chunks: readonly Uint8Array[]): void {
  const fd = openSync(path, "wx");
  try {
    writeChunks(fd, chunks);
  } finally {
    closeSync(fd);
  }
}

export const createSessionFromFiles: ExternalDataLoader = async (model, data, options) => {
  const dir = mkdtempSync(join(tmpdir(), `maskbit-session-${process.pid}-`));
  try {
    const modelPath = join(dir, "model.onnx");
    writeFile(modelPath, [model]);
    writeFile(join(dir, data.location), data.chunks);
    return await ort.InferenceSession.create(modelPath, options);
  } finally {
    // ORT has read (or mapped) the weights by now; a mapped file stays valid once unlinked.
    rmSync(dir, { recursive: true, force: true });
  }
};
