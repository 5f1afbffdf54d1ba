// Which ONNX Runtime runs the graphs. The engine is written against onnxruntime-common's API,
// which onnxruntime-node (native, Node) and onnxruntime-web (wasm / WebGPU, browsers and Web
// Workers) both implement; the platform entry point (src/node.ts, src/browser.ts) installs one.
// Keeping the choice out of the engine is what lets one model definition run everywhere.

import type { InferenceSession, Tensor } from "onnxruntime-common";
import { ConfigError } from "../errors.js";

/** The part of an onnxruntime-node / onnxruntime-web module the engine uses. */
export interface OnnxRuntime {
  readonly InferenceSession: { create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  readonly Tensor: new (type: Tensor.Type, data: Tensor.DataType, dims?: readonly number[]) => Tensor;
}

let installed: OnnxRuntime | undefined;
let installedName = "";

/** Installs the runtime every CompiledGraph uses from now on (the entry points do this on import). */
export function setOnnxRuntime(ort: OnnxRuntime, name = "custom"): void {
  installed = ort;
  installedName = name;
}

/** The installed runtime; a clear error when none is (a core module imported without an entry point). */
export function onnxRuntime(): OnnxRuntime {
  if (!installed) {
    throw new ConfigError({
      op: "onnxRuntime", expected: "an ONNX Runtime installed by the entry point", got: "none",
      hint: 'import "maskbit" (Node: onnxruntime-node, browsers: onnxruntime-web), or call setOnnxRuntime(ort) with either module',
    });
  }
  return installed;
}

let reclaimer: (() => void) | undefined;

/**
 * Installs a way to free garbage now (Node: a full V8 collection). A session compiled with its
 * weights resident is built from model bytes the size of the weights; they are garbage once ORT
 * has read them, but V8 counts little of it against its heap and may keep them for minutes,
 * through whatever the process allocates next (a 14-bit generator: 1.2 GB). Returns the one it replaces.
 */
export function setMemoryReclaimer(reclaim: (() => void) | undefined): (() => void) | undefined {
  const before = reclaimer;
  reclaimer = reclaim;
  return before;
}

/** Frees garbage now where the platform can (see setMemoryReclaimer); a no-op elsewhere. */
export function reclaimMemory(): void {
  reclaimer?.();
}

/**
 * Creates a session from a model whose weights are ONNX external data (`location` names the data
 * file beside the model), where the platform has files (Node: a private temp directory, removed
 * once the session exists). ONNX Runtime then reads the weights from the file instead of parsing
 * them out of in-memory bytes, which cost about two more copies of the weights at the compile peak.
 */
export type ExternalDataLoader = (
  model: Uint8Array,
  data: { readonly location: string; readonly chunks: readonly Uint8Array[] },
  options: InferenceSession.SessionOptions,
) => Promise<InferenceSession>;

let externalDataLoader: ExternalDataLoader | undefined;

/** Installs the platform's ExternalDataLoader (undefined: sessions come from bytes only); returns the one it replaces. */
export function setExternalDataLoader(loader: ExternalDataLoader | undefined): ExternalDataLoader | undefined {
  const before = externalDataLoader;
  externalDataLoader = loader;
  return before;
}

/** The installed ExternalDataLoader, if the platform has one. */
export function installedExternalDataLoader(): ExternalDataLoader | undefined {
  return externalDataLoader;
}

/** "onnxruntime-node", "onnxruntime-web" or "custom": which runtime is installed. */
export function onnxRuntimeName(): string {
  return installedName;
}
