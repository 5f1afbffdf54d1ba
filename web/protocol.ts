// Messages between the page (main.ts) and the inference worker (worker.ts). Every request carries
// an id; the worker answers it with exactly one "result" or "error", after any "progress" / "step"
// messages. Images cross as RGBA pixels (transferred, not copied); ids as plain number arrays
// (token ids of up to 20 bits fit a double exactly).

export type BackendChoice = "auto" | "wasm" | "webgpu";

export interface Pixels {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray;
}

export interface SamplingRequest {
  readonly seed: number;
  readonly steps: number;
  readonly guidanceScale: number;
  readonly softmaxTemperature: number;
  readonly randomizeTemperature: number;
}

export type ModelSlot = "generator" | "tokenizer";

export type Request =
  | { readonly kind: "init"; readonly backend: BackendChoice; readonly threads?: number }
  | { readonly kind: "load"; readonly which: ModelSlot; readonly url?: string; readonly bytes?: ArrayBuffer; readonly name?: string; readonly configText?: string; readonly configUrl?: string }
  | ({ readonly kind: "generate"; readonly labels: readonly number[]; readonly preview: boolean } & SamplingRequest)
  | { readonly kind: "cancel"; readonly target: number }
  | { readonly kind: "encode"; readonly bytes: ArrayBuffer; readonly name: string }
  | ({ readonly kind: "inpaint"; readonly ids: readonly number[]; readonly mask: readonly boolean[]; readonly label: number; readonly preview: boolean } & SamplingRequest)
  | { readonly kind: "flip"; readonly ids: readonly number[]; readonly region: readonly boolean[]; readonly plane: number };

export interface ModelInfo {
  readonly backend: "wasm" | "webgpu";
  /** Why this backend (e.g. "navigator.gpu present", "no navigator.gpu", "WebGPU failed: ..."). */
  readonly backendReason: string;
  readonly threads: number;
  readonly crossOriginIsolated: boolean;
  readonly classNames: readonly string[];
  readonly tokenBits: number;
  /** Tokens per side. */
  readonly grid: number;
  /** Pixels per side of a generated image. */
  readonly imageSize: number;
  readonly generatorName: string;
  readonly tokenizerName: string;
  readonly sampling: SamplingRequest;
  /** Milliseconds the worker spent loading both models (fetch or cache, parse, first compile). */
  readonly loadMs: number;
}

export interface ImageResult {
  /** One id list per image, row-major over the grid. */
  readonly ids: readonly (readonly number[])[];
  readonly images: readonly Pixels[];
  readonly seed?: number;
  /** Wall ms of each sampling step (the sampler's run; preview decoding excluded). */
  readonly stepMs?: readonly number[];
  /** Wall ms of the whole request, including the first compile of a new batch size. */
  readonly totalMs: number;
}

export type Reply =
  | { readonly id: number; readonly kind: "progress"; readonly what: string; readonly loaded: number; readonly total?: number; readonly cached: boolean }
  | { readonly id: number; readonly kind: "step"; readonly step: number; readonly steps: number; readonly images: readonly Pixels[]; readonly masked: readonly (readonly boolean[])[]; readonly ms: number }
  | { readonly id: number; readonly kind: "result"; readonly value: unknown }
  | { readonly id: number; readonly kind: "error"; readonly message: string; readonly name: string };
