// The app's inference worker: owns onnxruntime-web, the tokenizer and the generator, and answers
// the page's requests (protocol.ts) so that the page never blocks on a model. Every failure is
// answered as an "error" message; the worker keeps its previous models and stays usable.

import * as ort from "onnxruntime-web";
import {
  ConfigError, Generator, HostTensor, flipBitPlane, Tokenizer, readBytes, tokenizerConfig, toRgba,
  type ExecutionProvider, type SessionOptions,
} from "../src/browser.js";
import type { SamplerStep } from "../src/models/generator/sampler.js";
import type { SamplingDefaults } from "../src/models/generator/config.js";
import { inpaint } from "./editing.js";
import type { BackendChoice, ImageResult, ModelInfo, ModelSlot, Pixels, Reply, Request, SamplingRequest } from "./protocol.js";

interface WorkerScope {
  postMessage(message: Reply, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<{ id: number; request: Request }>) => void) | null;
  readonly location: { readonly href: string };
  readonly crossOriginIsolated: boolean;
  readonly navigator: { readonly hardwareConcurrency: number; readonly gpu?: { requestAdapter(): Promise<unknown> } };
}
const scope = self as unknown as WorkerScope;

const SITE = new URL("./", scope.location.href);
const DEFAULT_MODELS = { generator: "models/fmnist/generator.safetensors", tokenizer: "models/fmnist/tokenizer.safetensors" } as const;
const CACHE_NAME = "maskbit-models-v1";

interface State {
  backend: ExecutionProvider;
  backendReason: string;
  threads: number;
  session: SessionOptions;
  tokenizer?: Tokenizer;
  generator?: Generator;
  names: Record<ModelSlot, string>;
  loadMs: number;
}
let state: State | undefined;
const running = new Map<number, AbortController>();

function post(r: Reply, transfer: Transferable[] = []): void {
  scope.postMessage(r, transfer);
}

function message(e: unknown): { message: string; name: string } {
  if (e instanceof Error) return { message: e.message, name: e.name };
  return { message: String(e), name: "Error" };
}

// --- model bytes: Cache API for URLs -------------------------------------------------------------

async function urlBytes(id: number, url: string, what: string): Promise<Uint8Array> {
  const href = new URL(url, SITE).href;
  const cache = typeof caches !== "undefined" ? await caches.open(CACHE_NAME).catch(() => undefined) : undefined;
  const hit = await cache?.match(href);
  const onProgress = (p: { loaded: number; total?: number }) => post({ id, kind: "progress", what, loaded: p.loaded, ...(p.total !== undefined ? { total: p.total } : {}), cached: hit !== undefined });
  if (hit) return readBytes(hit, { onProgress });
  const bytes = await readBytes(href, { onProgress });
  // A file that then fails to load is evicted again (loadSlot), so a broken model is not served twice.
  await cache?.put(href, new Response(bytes.slice().buffer as ArrayBuffer)).catch(() => undefined);
  return bytes;
}

async function evict(url: string): Promise<void> {
  if (typeof caches === "undefined") return;
  const cache = await caches.open(CACHE_NAME).catch(() => undefined);
  await cache?.delete(new URL(url, SITE).href);
}

// --- backends -------------------------------------------------------------------------------------

async function chooseBackend(choice: BackendChoice): Promise<{ backend: ExecutionProvider; reason: string }> {
  if (choice === "wasm") return { backend: "wasm", reason: "wasm requested" };
  const gpu = scope.navigator.gpu;
  if (!gpu) return { backend: "wasm", reason: "no navigator.gpu in this browser" };
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) return { backend: "wasm", reason: "navigator.gpu has no adapter" };
  return { backend: "webgpu", reason: "navigator.gpu has an adapter" };
}

function checkPair(gen: Generator, tok: Tokenizer): void {
  const bits = tokenizerConfig.tokenBits(tok.config) ?? Math.log2(tokenizerConfig.codebookSize(tok.config));
  if (gen.config.tokenBits !== bits) {
    throw new ConfigError({
      op: "load models", expected: `a generator for ${bits}-bit tokens (the tokenizer's)`, got: `a generator for ${gen.config.tokenBits}-bit tokens`,
      hint: "load a generator and tokenizer trained together",
    });
  }
}

function info(s: State): ModelInfo {
  const gen = s.generator!, tok = s.tokenizer!;
  const d = gen.config.sampling;
  return {
    backend: s.backend === "webgpu" ? "webgpu" : "wasm", backendReason: s.backendReason, threads: s.threads,
    crossOriginIsolated: scope.crossOriginIsolated,
    classNames: gen.classNames ?? Array.from({ length: gen.config.numClasses }, (_, i) => `class ${i}`),
    tokenBits: gen.config.tokenBits, grid: gen.config.tokenGrid, imageSize: gen.config.tokenGrid * tok.stride,
    generatorName: s.names.generator, tokenizerName: s.names.tokenizer,
    sampling: { seed: 0, steps: d.steps, guidanceScale: d.guidanceScale, softmaxTemperature: d.softmaxTemperature, randomizeTemperature: d.randomizeTemperature },
    loadMs: s.loadMs,
  };
}

async function loadPair(id: number, session: SessionOptions): Promise<{ tokenizer: Tokenizer; generator: Generator }> {
  const [tb, gb] = await Promise.all([urlBytes(id, DEFAULT_MODELS.tokenizer, "tokenizer"), urlBytes(id, DEFAULT_MODELS.generator, "generator")]);
  const tokenizer = await Tokenizer.load(tb, { session });
  const generator = await Generator.load(gb, { session });
  checkPair(generator, tokenizer);
  // Compile and run the decoder once, so that a backend that cannot run these graphs fails here.
  const grid = generator.config.tokenGrid;
  await tokenizer.decode(HostTensor.i64(new Array(grid * grid).fill(0), [1, grid, grid]));
  return { tokenizer, generator };
}

async function init(id: number, choice: BackendChoice, threadsWanted?: number): Promise<ModelInfo> {
  const t0 = performance.now();
  const isolated = scope.crossOriginIsolated;
  const threads = isolated ? Math.max(1, Math.min(threadsWanted ?? scope.navigator.hardwareConcurrency, 16)) : 1;
  ort.env.wasm.wasmPaths = new URL("ort/", SITE).href;
  ort.env.wasm.numThreads = threads;
  let { backend, reason } = await chooseBackend(choice);
  let session: SessionOptions = { executionProvider: backend, threads };
  let models: { tokenizer: Tokenizer; generator: Generator };
  try {
    models = await loadPair(id, session);
  } catch (e) {
    // A cached copy that no longer loads must not fail every later visit.
    await Promise.all(Object.values(DEFAULT_MODELS).map(evict));
    if (backend !== "webgpu") throw e;
    reason = `WebGPU failed (${message(e).message.slice(0, 120)}); using wasm`;
    backend = "wasm";
    session = { executionProvider: "wasm", threads };
    models = await loadPair(id, session);
  }
  state = { backend, backendReason: reason, threads, session, ...models, names: { generator: "Fashion-MNIST (shipped)", tokenizer: "Fashion-MNIST (shipped)" }, loadMs: performance.now() - t0 };
  return info(state);
}

function live(): State & { tokenizer: Tokenizer; generator: Generator } {
  if (!state?.tokenizer || !state.generator) throw new ConfigError({ op: "worker", expected: "models loaded", got: "none yet" });
  return state as State & { tokenizer: Tokenizer; generator: Generator };
}

async function loadSlot(id: number, r: Extract<Request, { kind: "load" }>): Promise<ModelInfo> {
  const s = live();
  let bytes: Uint8Array;
  let name: string;
  if (r.bytes) {
    bytes = new Uint8Array(r.bytes);
    name = r.name ?? "<file>";
  } else if (r.url) {
    bytes = await urlBytes(id, r.url, r.which);
    name = r.url;
  } else {
    throw new ConfigError({ op: "load model", expected: "a file or a URL", got: "neither" });
  }
  const config = r.configText ?? (r.configUrl ? new TextDecoder().decode(await urlBytes(id, r.configUrl, "config")) : undefined);
  const opts = { session: s.session, ...(config !== undefined ? { config } : {}) };
  try {
    if (r.which === "generator") {
      const gen = await Generator.load(bytes, opts);
      checkPair(gen, s.tokenizer);
      const old = s.generator;
      s.generator = gen;
      await old.dispose();
    } else {
      const tok = await Tokenizer.load(bytes, opts);
      checkPair(s.generator, tok);
      const old = s.tokenizer;
      s.tokenizer = tok;
      await old.dispose();
    }
  } catch (e) {
    if (r.url) await evict(r.url);
    throw e;
  }
  s.names[r.which] = name;
  return info(s);
}

// --- images ----------------------------------------------------------------------------------------

function pixelsOf(images: HostTensor, n: number): Pixels[] {
  return Array.from({ length: n }, (_, i) => toRgba(images, i));
}

/** Preview of a partially sampled state: masked groups read as 0, so a still-masked token decodes as id 0 (the page dims it). */
function previewIds(step: SamplerStep, groups: number, groupBits: number, maskValue: bigint): { ids: HostTensor; masked: boolean[][] } {
  const t = step.tokens.data as BigInt64Array;
  const [b, l] = step.tokens.shape as [number, number, number];
  const ids = new BigInt64Array(b * l);
  const masked: boolean[][] = [];
  for (let i = 0; i < b; i++) {
    const row: boolean[] = [];
    for (let j = 0; j < l; j++) {
      let id = 0n, any = false;
      for (let g = 0; g < groups; g++) {
        const v = t[(i * l + j) * groups + g]!;
        if (v === maskValue) any = true;
        else id += v << BigInt(g * groupBits);
      }
      ids[i * l + j] = id;
      row.push(any);
    }
    masked.push(row);
  }
  return { ids: new HostTensor("int64", [b, l], ids), masked };
}

function settingsFrom(gen: Generator, r: SamplingRequest): SamplingDefaults {
  return { ...gen.config.sampling, steps: r.steps, guidanceScale: r.guidanceScale, softmaxTemperature: r.softmaxTemperature, randomizeTemperature: r.randomizeTemperature };
}

function stepReporter(id: number, s: State & { tokenizer: Tokenizer; generator: Generator }, preview: boolean, stepMs: number[]) {
  const cfg = s.generator.config, groupBits = cfg.tokenBits / cfg.groups, maskValue = BigInt(2 ** groupBits);
  let last = performance.now();
  return async (step: SamplerStep) => {
    const ms = performance.now() - last;
    stepMs.push(ms);
    if (preview) {
      const { ids, masked } = previewIds(step, cfg.groups, groupBits, maskValue);
      const images = pixelsOf(await s.tokenizer.decode(ids, { clamp: true }), masked.length);
      post({ id, kind: "step", step: step.step, steps: step.steps, images, masked, ms }, images.map((p) => p.data.buffer));
    }
    // Let queued messages (a "cancel") run: the sampler's awaits resolve as microtasks, so
    // without a macrotask turn here the worker would read its inbox only after the last step.
    await new Promise((resolve) => setTimeout(resolve, 0));
    last = performance.now();
  };
}

async function generate(id: number, r: Extract<Request, { kind: "generate" }>): Promise<ImageResult> {
  const s = live();
  const t0 = performance.now();
  const ctl = new AbortController();
  running.set(id, ctl);
  try {
    const labels = r.labels.map((y) => s.generator.classId(y));
    const stepMs: number[] = [];
    const out = await s.generator.sample({
      labels, seed: r.seed, steps: r.steps, guidanceScale: r.guidanceScale, softmaxTemperature: r.softmaxTemperature,
      randomizeTemperature: r.randomizeTemperature, signal: ctl.signal, onStep: stepReporter(id, s, r.preview, stepMs),
    });
    const images = await s.tokenizer.decode(out.ids, { clamp: true });
    const all = out.ids.toNumbers(), l = out.ids.size / out.ids.shape[0]!;
    return { ids: labels.map((_, i) => all.slice(i * l, (i + 1) * l)), images: pixelsOf(images, labels.length), seed: r.seed, stepMs, totalMs: performance.now() - t0 };
  } finally {
    running.delete(id);
  }
}

async function runInpaint(id: number, r: Extract<Request, { kind: "inpaint" }>): Promise<ImageResult> {
  const s = live();
  const t0 = performance.now();
  const ctl = new AbortController();
  running.set(id, ctl);
  try {
    const stepMs: number[] = [];
    const ids = await inpaint(s.generator, {
      ids: r.ids, mask: r.mask, label: s.generator.classId(r.label), seed: r.seed, settings: settingsFrom(s.generator, r),
      signal: ctl.signal, onStep: stepReporter(id, s, r.preview, stepMs),
    });
    const images = await s.tokenizer.decode(HostTensor.i64(ids, [1, ids.length]), { clamp: true });
    return { ids: [ids], images: pixelsOf(images, 1), seed: r.seed, stepMs, totalMs: performance.now() - t0 };
  } finally {
    running.delete(id);
  }
}

interface Canvas2d {
  drawImage(i: unknown, x: number, y: number, w: number, h: number): void;
  getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray; width: number; height: number };
  imageSmoothingQuality: string;
}

/** Any browser-decodable image, resized to the model's image size (the model sees that size only). */
async function decodeUpload(bytes: ArrayBuffer, name: string, size: number): Promise<Pixels> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes]));
  } catch (e) {
    throw new ConfigError({ op: "upload", scope: name, expected: "an image file the browser can decode (PNG, JPEG, WebP, ...)", got: `${bytes.byteLength} bytes it cannot decode (${message(e).message})` });
  }
  const canvas = new OffscreenCanvas(size, size);
  const ctx = canvas.getContext("2d") as unknown as Canvas2d | null;
  if (!ctx) throw new ConfigError({ op: "upload", expected: "a 2d canvas in the worker", got: "none" });
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, size, size);
  bitmap.close();
  return ctx.getImageData(0, 0, size, size);
}

async function encode(r: Extract<Request, { kind: "encode" }>): Promise<ImageResult & { readonly original: Pixels }> {
  const s = live();
  const t0 = performance.now();
  const size = s.generator.config.tokenGrid * s.tokenizer.stride;
  const original = await decodeUpload(r.bytes, r.name, size);
  const { ids } = await s.tokenizer.encode(original);
  const flat = ids.toNumbers();
  const images = await s.tokenizer.decode(ids, { clamp: true });
  return { ids: [flat], images: pixelsOf(images, 1), totalMs: performance.now() - t0, original };
}

async function flip(r: Extract<Request, { kind: "flip" }>): Promise<ImageResult> {
  const s = live();
  const t0 = performance.now();
  const side = Math.round(Math.sqrt(r.ids.length));
  if (side * side !== r.ids.length) throw new ConfigError({ op: "flip", expected: "the ids of one square token grid", got: `${r.ids.length} ids` });
  const edited = flipBitPlane(HostTensor.i64(r.ids, [1, side, side]), r.plane, { mask: r.region, tokenBits: s.generator.config.tokenBits });
  const images = await s.tokenizer.decode(edited, { clamp: true });
  return { ids: [Array.from(edited.data, Number)], images: pixelsOf(images, 1), totalMs: performance.now() - t0 };
}

async function handle(id: number, r: Request): Promise<unknown> {
  switch (r.kind) {
    case "init": return init(id, r.backend, r.threads);
    case "load": return loadSlot(id, r);
    case "generate": return generate(id, r);
    case "inpaint": return runInpaint(id, r);
    case "encode": return encode(r);
    case "flip": return flip(r);
    case "cancel":
      running.get(r.target)?.abort(new DOMException("cancelled", "AbortError"));
      return { cancelled: running.has(r.target) };
  }
}

function transfers(v: unknown): Transferable[] {
  const out: Transferable[] = [];
  const visit = (x: unknown) => {
    if (x && typeof x === "object") {
      if (x instanceof Uint8ClampedArray) out.push(x.buffer as ArrayBuffer);
      else if (Array.isArray(x)) x.forEach(visit);
      else Object.values(x).forEach(visit);
    }
  };
  visit(v);
  return [...new Set(out)];
}

scope.onmessage = (e) => {
  const { id, request } = e.data;
  handle(id, request).then(
    (value) => post({ id, kind: "result", value }, transfers(value)),
    (err: unknown) => post({ id, kind: "error", ...message(err) }),
  );
};
