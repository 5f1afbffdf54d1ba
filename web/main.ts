// The app's page: controls, canvases and the test hook (window.maskbitApp). All inference runs in
// worker.ts; this file only sends requests and draws what comes back.

import { WorkerClient } from "./client.js";
import { ctx2d, difference, drawPixels, gridLines, gridPng, outlineCells, shadeCells } from "./draw.js";
import type { BackendChoice, ImageResult, ModelInfo, ModelSlot, Pixels, Reply, SamplingRequest } from "./protocol.js";

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
};
const input = (id: string) => $<HTMLInputElement>(id);

const params = new URLSearchParams(location.search);
const client = new WorkerClient(new URL("worker.js", import.meta.url));
const CELL = 96, COLUMNS = 8, EDIT = 256;

let info: ModelInfo | undefined;
let busy: { id: number; what: string } | undefined;
let firstImageMs: number | undefined;
let lastStepMs: number | undefined;
let lastStepWhat = "";

interface Generation { readonly ids: number[][]; readonly images: Pixels[]; readonly labels: number[]; readonly seed: number }
let generation: Generation | undefined;

interface EditState { ids: number[]; image: Pixels; label: number; mask: Uint8Array; selected: boolean[] }
let edit: EditState | undefined;

// --- messages and status -----------------------------------------------------------------------------

function say(text: string, kind: "error" | "info" = "error"): void {
  const m = $("message");
  m.textContent = text;
  m.className = kind === "error" ? "message" : "message info";
  m.hidden = false;
}
function unsay(): void {
  $("message").hidden = true;
}
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

function showMetrics(): void {
  const parts: string[] = [];
  if (firstImageMs !== undefined) parts.push(`first image ${(firstImageMs / 1000).toFixed(2)} s after opening`);
  if (lastStepMs !== undefined) parts.push(`${lastStepMs.toFixed(1)} ms / sampling step (${lastStepWhat})`);
  $("metrics").textContent = parts.length ? parts.join(" · ") : "–";
}

function showInfo(i: ModelInfo): void {
  info = i;
  $("backend").textContent = i.backend === "webgpu" ? "WebGPU" : `wasm · ${i.threads} thread${i.threads === 1 ? "" : "s"}${i.crossOriginIsolated ? "" : " (page not cross-origin isolated)"}`;
  $("backend").title = i.backendReason;
  $("models").textContent = `generator: ${i.generatorName} · tokenizer: ${i.tokenizerName} · ${i.tokenBits}-bit tokens, ${i.grid}x${i.grid} grid, ${i.imageSize}px`;
  const options = (all: boolean) => (all ? [`<option value="all">one of each class</option>`] : []).concat(i.classNames.map((n, k) => `<option value="${k}">${k}: ${n}</option>`)).join("");
  $<HTMLSelectElement>("class").innerHTML = options(true);
  $<HTMLSelectElement>("inpaint-class").innerHTML = `<option value="same">same class</option>` + options(false);
  $<HTMLSelectElement>("plane").innerHTML = Array.from({ length: i.tokenBits }, (_, k) => `<option value="${k}">bit ${k}${k === 0 ? " (LSB)" : k === i.tokenBits - 1 ? " (MSB)" : ""}</option>`).join("");
}

function progress(r: Reply): void {
  if (r.kind !== "progress") return;
  const bar = $<HTMLProgressElement>("progress");
  bar.classList.remove("done");
  bar.max = r.total ?? Math.max(r.loaded, 1);
  bar.value = r.loaded;
  $("models").textContent = `loading ${r.what}${r.cached ? " (from cache)" : ""}: ${(r.loaded / 1e6).toFixed(2)}${r.total ? ` / ${(r.total / 1e6).toFixed(2)}` : ""} MB`;
}
function progressDone(): void {
  $("progress").classList.add("done");
}

function setBusy(b: { id: number; what: string } | undefined): void {
  busy = b;
  for (const id of ["generate", "inpaint", "flip", "gen-load", "tok-load"]) $<HTMLButtonElement>(id).disabled = b !== undefined || !info;
  $<HTMLButtonElement>("cancel").disabled = !b || (b.what !== "generate" && b.what !== "inpaint");
  $<HTMLButtonElement>("download").disabled = b !== undefined || !generation;
}

// --- generate ------------------------------------------------------------------------------------------

function numberField(id: string, what: string, integer: boolean): number {
  const v = Number(input(id).value);
  if (input(id).value.trim() === "" || !Number.isFinite(v) || (integer && !Number.isInteger(v))) throw new Error(`${what}: expected ${integer ? "an integer" : "a number"}, got "${input(id).value}"`);
  return v;
}

function sampling(): SamplingRequest {
  return {
    seed: numberField("seed", "seed", true),
    steps: numberField("steps", "steps", true),
    guidanceScale: numberField("guidance", "guidance", false),
    softmaxTemperature: numberField("temperature", "temperature", false),
    randomizeTemperature: info!.sampling.randomizeTemperature,
  };
}

function drawGrid(images: readonly Pixels[], masked?: readonly (readonly boolean[])[]): void {
  const c = $<HTMLCanvasElement>("grid");
  const cols = Math.min(COLUMNS, images.length), rows = Math.ceil(images.length / COLUMNS);
  if (c.width !== cols * CELL || c.height !== rows * CELL) {
    c.width = cols * CELL;
    c.height = rows * CELL;
  }
  const ctx = ctx2d(c);
  images.forEach((p, i) => {
    const x = (i % COLUMNS) * CELL, y = Math.floor(i / COLUMNS) * CELL;
    drawPixels(ctx, p, x, y, CELL);
    if (masked) shadeCells(ctx, masked[i]!, info!.grid, x, y, CELL, "rgba(20,20,30,0.72)");
  });
}

let previews = 0;
function onStep(r: Reply): void {
  if (r.kind !== "step") return;
  previews++;
  drawGrid(r.images, r.masked);
  const left = r.masked[0]!.filter(Boolean).length;
  $("step-info").textContent = `step ${r.step + 1} / ${r.steps} · ${r.ms.toFixed(1)} ms · ${left} of ${r.masked[0]!.length} tokens of image 1 still (partly) masked`;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function generate(): Promise<Generation> {
  if (!info) throw new Error("models are still loading");
  const s = sampling();
  const cls = $<HTMLSelectElement>("class").value;
  const count = numberField("count", "images", true);
  if (cls !== "all" && (count < 1 || count > 64)) throw new Error(`images: expected 1 to 64, got ${count}`);
  const labels = cls === "all" ? info.classNames.map((_, k) => k) : new Array<number>(count).fill(Number(cls));
  previews = 0;
  const job = client.request<ImageResult>({ kind: "generate", labels, preview: true, ...s }, onStep);
  setBusy({ id: job.id, what: "generate" });
  try {
    const r = await job.done;
    generation = { ids: r.ids.map((x) => [...x]), images: [...r.images], labels, seed: s.seed };
    drawGrid(r.images);
    firstImageMs ??= performance.now();
    if (r.stepMs?.length) [lastStepMs, lastStepWhat] = [median(r.stepMs), `batch ${labels.length}${s.guidanceScale !== 0 ? ", guided" : ""}`];
    showMetrics();
    $("step-info").textContent = `${labels.length} image${labels.length === 1 ? "" : "s"} · ${s.steps} steps in ${(r.totalMs / 1000).toFixed(2)} s · seed ${s.seed}`;
    return generation;
  } finally {
    setBusy(undefined);
  }
}

function cancel(): void {
  if (busy) client.request({ kind: "cancel", target: busy.id });
}

async function download(): Promise<void> {
  if (!generation) return;
  const blob = await gridPng(generation.images, COLUMNS);
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `maskbit-seed${generation.seed}.png`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

// --- editor ----------------------------------------------------------------------------------------------

function tokenMask(e: EditState): boolean[] {
  const g = info!.grid, s = EDIT / g;
  const out = new Array<boolean>(g * g).fill(false);
  for (let y = 0; y < EDIT; y++) for (let x = 0; x < EDIT; x++) if (e.mask[y * EDIT + x]) out[Math.floor(y / s) * g + Math.floor(x / s)] = true;
  return out;
}

function drawEditor(): void {
  const c = $<HTMLCanvasElement>("edit"), ctx = ctx2d(c);
  ctx.clearRect(0, 0, EDIT, EDIT);
  if (!edit || !info) return;
  drawPixels(ctx, edit.image, 0, 0, EDIT);
  gridLines(ctx, info.grid, EDIT);
  // The painted pixels, and the tokens they cover (what will be regenerated).
  shadeCells(ctx, tokenMask(edit), info.grid, 0, 0, EDIT, "rgba(230,60,60,0.25)");
  const paint = ctx.createImageData(EDIT, EDIT);
  edit.mask.forEach((m, i) => {
    if (m) paint.data.set([255, 80, 80, 140], i * 4);
  });
  const over = document.createElement("canvas");
  over.width = over.height = EDIT;
  over.getContext("2d")!.putImageData(paint, 0, 0);
  ctx.drawImage(over, 0, 0);
  outlineCells(ctx, edit.selected, info.grid, EDIT, "#ffd43b");
}

function setEditImage(ids: number[], image: Pixels, label: number): void {
  const l = info!.grid * info!.grid;
  edit = { ids, image, label, mask: new Uint8Array(EDIT * EDIT), selected: new Array<boolean>(l).fill(false) };
  for (const id of ["before", "after", "diff"]) ctx2d($<HTMLCanvasElement>(id)).clearRect(0, 0, 128, 128);
  drawEditor();
}

function pickFromGrid(index: number): void {
  if (!generation || index < 0 || index >= generation.images.length) throw new Error(`no generated image ${index + 1}`);
  setEditImage([...generation.ids[index]!], generation.images[index]!, generation.labels[index]!);
}

let painting = false;
function paintAt(ev: PointerEvent): void {
  if (!edit || !info) return;
  const c = $<HTMLCanvasElement>("edit"), r = c.getBoundingClientRect();
  const x = ((ev.clientX - r.left) / r.width) * EDIT, y = ((ev.clientY - r.top) / r.height) * EDIT;
  if (toolIs("tokens")) {
    if (ev.type !== "pointerdown") return;
    const g = info.grid, i = Math.floor(y / (EDIT / g)) * g + Math.floor(x / (EDIT / g));
    if (i >= 0 && i < g * g) edit.selected[i] = !edit.selected[i];
  } else {
    const rad = Number(input("brush").value) / 2;
    for (let yy = Math.max(0, Math.floor(y - rad)); yy < Math.min(EDIT, y + rad); yy++) {
      for (let xx = Math.max(0, Math.floor(x - rad)); xx < Math.min(EDIT, x + rad); xx++) {
        if ((xx - x) ** 2 + (yy - y) ** 2 <= rad * rad) edit.mask[yy * EDIT + xx] = 1;
      }
    }
  }
  drawEditor();
}
const toolIs = (t: string) => document.querySelector<HTMLInputElement>('input[name="tool"]:checked')?.value === t;

/** Marks whole token cells as painted (the test hook; the same mask the brush produces). */
function paintTokens(tokens: readonly number[]): void {
  if (!edit || !info) throw new Error("no image in the editor");
  const g = info.grid, s = EDIT / g;
  for (const t of tokens) {
    const ty = Math.floor(t / g), tx = t % g;
    for (let y = ty * s + 1; y < (ty + 1) * s - 1; y++) for (let x = tx * s + 1; x < (tx + 1) * s - 1; x++) edit.mask[y * EDIT + x] = 1;
  }
  drawEditor();
}

async function upload(file: File): Promise<void> {
  if (!info) throw new Error("models are still loading");
  const bytes = await file.arrayBuffer();
  const job = client.request<ImageResult & { original: Pixels }>({ kind: "encode", bytes, name: file.name }, undefined, [bytes]);
  setBusy({ id: job.id, what: "encode" });
  try {
    const r = await job.done;
    setEditImage([...r.ids[0]!], r.images[0]!, 0);
    say(`${file.name}: encoded to ${r.ids[0]!.length} tokens; shown as the tokenizer reconstructs it. Inpainting uses the class chosen under "Regenerate as" (class 0 for "same class").`, "info");
  } finally {
    setBusy(undefined);
  }
}

interface EditOutcome { readonly before: number[]; readonly after: number[]; readonly region: boolean[]; readonly beforePixels: number[]; readonly afterPixels: number[] }

function showCompare(before: Pixels, after: Pixels): void {
  drawPixels(ctx2d($<HTMLCanvasElement>("before")), before, 0, 0, 128);
  drawPixels(ctx2d($<HTMLCanvasElement>("after")), after, 0, 0, 128);
  drawPixels(ctx2d($<HTMLCanvasElement>("diff")), difference(before, after), 0, 0, 128);
}

async function runInpaint(): Promise<EditOutcome> {
  if (!edit || !info) throw new Error("put an image in the editor first: click a generated image or upload one");
  const region = tokenMask(edit);
  if (!region.some(Boolean)) throw new Error("nothing to inpaint: paint a mask over the part of the image to regenerate");
  const choice = $<HTMLSelectElement>("inpaint-class").value;
  const label = choice === "same" ? edit.label : Number(choice);
  const s = sampling();
  const job = client.request<ImageResult>({ kind: "inpaint", ids: edit.ids, mask: region, label, preview: true, ...s }, (r) => {
    if (r.kind === "step") {
      const ctx = ctx2d($<HTMLCanvasElement>("after"));
      drawPixels(ctx, r.images[0]!, 0, 0, 128);
      shadeCells(ctx, r.masked[0]!, info!.grid, 0, 0, 128, "rgba(20,20,30,0.72)");
    }
  });
  return finishEdit(job, "inpaint", region, (r) => {
    edit!.label = label;
    edit!.mask.fill(0);
    if (r.stepMs?.length) [lastStepMs, lastStepWhat] = [median(r.stepMs), `inpainting, batch 1${s.guidanceScale !== 0 ? ", guided" : ""}`];
  });
}
async function runFlip(): Promise<EditOutcome> {
  if (!edit || !info) throw new Error("put an image in the editor first: click a generated image or upload one");
  const region = [...edit.selected];
  if (!region.some(Boolean)) throw new Error('no tokens selected: choose "select tokens" and click the cells whose bit to flip');
  const plane = Number($<HTMLSelectElement>("plane").value);
  return finishEdit(client.request<ImageResult>({ kind: "flip", ids: edit.ids, region, plane }), "flip", region);
}

/** Waits for an edit job, shows before/after, makes the result the editor's image and reports what changed. */
async function finishEdit(job: { id: number; done: Promise<ImageResult> }, what: "inpaint" | "flip", region: boolean[], andThen?: (r: ImageResult) => void): Promise<EditOutcome> {
  setBusy({ id: job.id, what });
  try {
    const r = await job.done;
    const e = edit!, before = e.ids, beforeImage = e.image;
    showCompare(beforeImage, r.images[0]!);
    e.ids = [...r.ids[0]!];
    e.image = r.images[0]!;
    andThen?.(r);
    drawEditor();
    if (what === "inpaint") showMetrics();
    return { before, after: e.ids, region, beforePixels: [...beforeImage.data], afterPixels: [...r.images[0]!.data] };
  } finally {
    setBusy(undefined);
  }
}

// --- models --------------------------------------------------------------------------------------------

async function loadModel(which: ModelSlot): Promise<ModelInfo> {
  const p = which === "generator" ? "gen" : "tok";
  const file = input(`${p}-file`).files?.[0], url = input(`${p}-url`).value.trim(), config = input(`${p}-config`).files?.[0];
  if (!file && !url) throw new Error(`choose a ${which} file or enter its URL`);
  const bytes = file ? await file.arrayBuffer() : undefined;
  const configText = config ? await config.text() : undefined;
  const job = client.request<ModelInfo>(
    { kind: "load", which, ...(bytes ? { bytes, name: file!.name } : { url }), ...(configText !== undefined ? { configText } : {}) },
    progress, bytes ? [bytes] : [],
  );
  setBusy({ id: job.id, what: "load" });
  try {
    const i = await job.done;
    showInfo(i);
    say(`loaded ${which} ${file ? file.name : url}`, "info");
    return i;
  } finally {
    for (const id of [`${p}-file`, `${p}-config`]) input(id).value = "";
    progressDone();
    setBusy(undefined);
  }
}

// --- wiring ----------------------------------------------------------------------------------------------

/** Runs a UI action, turning any failure into a message on the page. */
function guarded<T>(f: () => Promise<T>): () => Promise<T | undefined> {
  return async () => {
    try {
      return await f();
    } catch (e) {
      if (e instanceof Error && e.name === "AbortError") say("cancelled", "info");
      else say(errorText(e));
      return undefined;
    }
  };
}

$("generate-form").addEventListener("submit", (e) => {
  e.preventDefault();
  unsay();
  void guarded(generate)();
});
$("cancel").addEventListener("click", cancel);
$("random-seed").addEventListener("click", () => (input("seed").value = String(Math.floor(Math.random() * 2 ** 31))));
$("download").addEventListener("click", () => void guarded(download)());
$("grid").addEventListener("click", (ev) => {
  const c = $<HTMLCanvasElement>("grid"), r = c.getBoundingClientRect();
  const col = Math.floor(((ev.clientX - r.left) / r.width) * c.width / CELL), row = Math.floor(((ev.clientY - r.top) / r.height) * c.height / CELL);
  void guarded(async () => pickFromGrid(row * COLUMNS + col))();
});
const editCanvas = $<HTMLCanvasElement>("edit");
editCanvas.addEventListener("pointerdown", (e) => { painting = true; paintAt(e); });
editCanvas.addEventListener("pointermove", (e) => { if (painting && toolIs("mask")) paintAt(e); });
window.addEventListener("pointerup", () => (painting = false));
$("clear").addEventListener("click", () => {
  if (!edit) return;
  edit.mask.fill(0);
  edit.selected.fill(false);
  drawEditor();
});
input("upload").addEventListener("change", () => {
  const f = input("upload").files?.[0];
  if (f) void guarded(() => upload(f))();
});
$("inpaint").addEventListener("click", () => { unsay(); void guarded(runInpaint)(); });
$("flip").addEventListener("click", () => { unsay(); void guarded(runFlip)(); });
$("gen-load").addEventListener("click", () => { unsay(); void guarded(() => loadModel("generator"))(); });
$("tok-load").addEventListener("click", () => { unsay(); void guarded(() => loadModel("tokenizer"))(); });

const backendParam = params.get("backend");
const backend: BackendChoice = backendParam === "wasm" || backendParam === "webgpu" ? backendParam : "auto";
const threadsParam = params.get("threads");
setBusy({ id: 0, what: "init" });
const ready: Promise<ModelInfo> = client.request<ModelInfo>({ kind: "init", backend, ...(threadsParam ? { threads: Number(threadsParam) } : {}) }, progress).done;
ready.then(
  (i) => {
    showInfo(i);
    progressDone();
    setBusy(undefined);
    if (params.has("autogenerate")) void guarded(generate)();
  },
  (e: unknown) => {
    progressDone();
    $("models").textContent = "no models";
    say(`could not start: ${errorText(e)}`);
  },
);

// The test hook: what the browser tests and the bench drive (each call is what a control does).
declare global {
  interface Window { maskbitApp: typeof hook }
}
const hook = {
  ready: () => ready,
  info: () => info,
  metrics: () => ({ firstImageMs, lastStepMs }),
  generation: () => generation,
  /** Step previews drawn during the last generation. */
  previews: () => previews,
  idle: async () => {
    while (busy) await new Promise((r) => setTimeout(r, 20));
  },
  generate: guarded(generate),
  pick: (index: number) => pickFromGrid(index),
  paintTokens,
  selectTokens: (tokens: readonly number[]) => {
    if (!edit) throw new Error("no image in the editor");
    edit.selected.fill(false);
    for (const t of tokens) edit.selected[t] = true;
    drawEditor();
  },
  clearMask: () => edit?.mask.fill(0),
  editIds: () => edit?.ids,
  inpaint: guarded(runInpaint),
  flip: guarded(runFlip),
  message: () => ($("message").hidden ? undefined : { text: $("message").textContent ?? "", kind: $("message").className.includes("info") ? "info" : "error" }),
};
window.maskbitApp = hook;
