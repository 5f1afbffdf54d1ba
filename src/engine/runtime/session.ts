// A compiled graph: exported once to ONNX, loaded once into an ONNX Runtime session, run many
// times with fresh feeds. Parameters are either fed by key from a ParamSource at each run (what
// training needs: the values change every step) or, for inference, baked into the session as
// initializers at compile time ("resident"), so ORT can pre-pack them once and nothing is copied
// or checked per run.

import type { InferenceSession, Tensor as OrtTensor } from "onnxruntime-common";
import { installedExternalDataLoader, onnxRuntime, onnxRuntimeName, reclaimMemory } from "./backend.js";
import type { Graph, Shape, Tensor } from "../graph/tensor.js";
import type { DType, HostArray } from "../graph/dtype.js";
import { exportModel, type ExportedModel } from "../onnx/export.js";
import { HostTensor } from "../host-tensor.js";
import { FeedError, fmtShape, isSystemError } from "../errors.js";

/** "cpu" (onnxruntime-node), "wasm" / "webgpu" (onnxruntime-web), "cuda" (onnxruntime-node on Linux x64 with CUDA). */
export type ExecutionProvider = "cpu" | "wasm" | "cuda" | "webgpu";

export interface SessionOptions {
  /** Intra-op threads (default: ONNX Runtime's choice, all cores). */
  readonly threads?: number;
  readonly executionProvider?: ExecutionProvider;
  /** "all" (default) or "basic"; "disabled" helps when debugging an export. */
  readonly optimization?: "all" | "basic" | "disabled";
  /**
   * ONNX Runtime's CPU memory arena. Each session's arena grows and never shrinks, so every live
   * session keeps its own high-water mark. Default per session kind (SESSION_MEMORY_DEFAULTS): on.
   * false is the low-memory mode: runs hand their activations back to the allocator, so many live
   * sessions share one heap (the Fashion-MNIST bench's six: 0.85-0.89x PyTorch's peak instead of
   * 1.3-1.4x), at the price of fresh pages every run (its generator training and batch-64 sampling
   * steps about 25-35 % slower; BENCHMARKS.md "The arena's price").
   */
  readonly memoryArena?: boolean;
  /**
   * Tokenizer and Generator: bake the weights into their inference sessions (default true), so
   * they are not fed (and checked) at every run and ORT can pre-pack them once. false feeds them
   * from the model's ParamStore at each run as training graphs do.
   */
  readonly residentWeights?: boolean;
  /**
   * Tokenizer and Generator: compiled sessions kept per entry point family (default 4, e.g.
   * encode and decode at two input shapes); the least recently used beyond that are released.
   */
  readonly maxCachedSessions?: number;
  /**
   * Tokenizer: images per session run; encode / decode / reconstruct split larger batches into
   * chunks of this many (same result, memory bounded by the chunk). Default: as many as make 2^20
   * pixels (MAX_PIXELS_PER_RUN).
   */
  readonly maxBatch?: number;
  /** ORT's memory pattern (one planned block for a run's activations); default per kind (SESSION_MEMORY_DEFAULTS): off. */
  readonly memoryPattern?: boolean;
}

/**
 * What a session is for, which picks the memory defaults: "inference" (weights resident, one run
 * per request: tokenizer encode / decode, logits), "sampling" (weights resident, a step graph run
 * once per decoding step) or "training" (parameters fed, the same shapes run thousands of times).
 */
export type SessionKind = "inference" | "sampling" | "training";

/**
 * Memory options by kind when SessionOptions leaves them unset, each picked by measurement
 * (BENCHMARKS.md "Memory per session kind", Fashion-MNIST models, alternating runs). The memory
 * pattern is what made the arena expensive: it asks for one block per run sized for every
 * activation, and the arena keeps it. With the arena on and the pattern off the arena reuses
 * chunks best-fit: a one-session process peaked 12-28 % lower for encode / decode / sampling at
 * no measurable cost in time, and 26-34 % lower for training steps at 1-13 % more time (median
 * 3 %). Without the arena, sampling steps ran 10-65 % and generator training steps 38-48 %
 * slower, for no smaller peak.
 */
export const SESSION_MEMORY_DEFAULTS: Readonly<Record<SessionKind, { readonly memoryArena: boolean; readonly memoryPattern: boolean }>> = {
  inference: { memoryArena: true, memoryPattern: false },
  sampling: { memoryArena: true, memoryPattern: false },
  training: { memoryArena: true, memoryPattern: false },
};

/** How a graph is compiled (set by the code that builds it, not by users). */
export interface CompileOptions {
  /**
   * Bake these parameter values into the session (resident weights): the compiled graph then has
   * no parameter inputs and later changes to the source do not reach it.
   */
  readonly residentWeights?: ParamSource;
  /** Default "inference" with residentWeights, else "training". */
  readonly kind?: SessionKind;
}

/** Something that can supply parameter values by state-dict key. */
export interface ParamSource {
  get(key: string): HostTensor | undefined;
}

/** The model's interface, without its bytes (the session holds what it needs; resident weights would otherwise be kept twice). */
export type CompiledModel = Omit<ExportedModel, "bytes" | "externalData">;

/**
 * Resident weights from which a compile goes through the platform's ExternalDataLoader (files)
 * rather than in-memory bytes: 16 MiB. Below it the bytes cost little.
 */
export const EXTERNAL_DATA_AFTER_BYTES = 16 * 2 ** 20;
const WEIGHTS_FILE = "weights.bin";

/** Model bytes from which a compile frees its garbage at once (reclaimMemory): 64 MiB. */
const RECLAIM_AFTER_BYTES = 64 * 2 ** 20;

export class CompiledGraph {
  private constructor(
    private readonly session: InferenceSession,
    readonly model: CompiledModel,
    readonly kind: SessionKind,
  ) {}

  static async create(graph: Graph, outputs: Readonly<Record<string, Tensor>>, opts: SessionOptions = {}, compile: CompileOptions = {}): Promise<CompiledGraph> {
    const kind = compile.kind ?? (compile.residentWeights ? "inference" : "training");
    const memory = SESSION_MEMORY_DEFAULTS[kind];
    const options: InferenceSession.SessionOptions = {
      intraOpNumThreads: opts.threads ?? 0,
      interOpNumThreads: 1,
      executionProviders: [opts.executionProvider ?? defaultProvider()],
      graphOptimizationLevel: opts.optimization ?? "all",
      enableCpuMemArena: opts.memoryArena ?? memory.memoryArena,
      enableMemPattern: opts.memoryPattern ?? memory.memoryPattern,
    };
    // Resident weights above EXTERNAL_DATA_AFTER_BYTES go to external data where the platform can
    // create sessions from files (Node): ORT then reads them from the file rather than parsing
    // them out of the bytes. Elsewhere they stay inside the protobuf, whose 2 GB limit only a
    // generator far beyond the official 14-bit one reaches.
    const loader = compile.residentWeights ? installedExternalDataLoader() : undefined;
    const exportFor = (files: boolean) => exportModel(graph, outputs, compile.residentWeights
      ? { embed: compile.residentWeights, ...(files ? { externalData: { location: WEIGHTS_FILE, thresholdBytes: EXTERNAL_DATA_AFTER_BYTES } } : {}) }
      : {});
    let exported: ExportedModel | undefined = exportFor(loader !== undefined);
    const model: CompiledModel = { inputs: exported.inputs, outputs: exported.outputs };
    let session: InferenceSession | undefined;
    if (exported.externalData) {
      try {
        session = await loader!(exported.bytes, { location: WEIGHTS_FILE, chunks: exported.externalData }, options);
      } catch (e) {
        // No room or no permission for the temporary files: compile from bytes instead, as the
        // platforms without files do (slower to free, same session).
        if (!isSystemError(e)) throw e;
        exported = exportFor(false);
      }
    }
    const size = exported.bytes.length;
    session ??= await onnxRuntime().InferenceSession.create(exported.bytes, options);
    // Large model bytes (resident weights) are garbage now: drop the last reference and free them
    // before the caller allocates more.
    exported = undefined;
    if (size >= RECLAIM_AFTER_BYTES) reclaimMemory();
    return new CompiledGraph(session, model, kind);
  }

  /** Keys of the parameters this graph reads at each run (none when its weights are resident). */
  get paramKeys(): string[] {
    return this.model.inputs.filter((i) => i.kind === "param").map((i) => i.name);
  }

  /**
   * Runs the graph. `feeds` holds the graph inputs by name; parameters come from `params`.
   * `into` may name preallocated host tensors that outputs are written into (no extra copy).
   */
  async run(
    feeds: Readonly<Record<string, HostTensor>>,
    params?: ParamSource,
    into?: Readonly<Record<string, HostTensor>>,
  ): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, OrtTensor> = {};
    const symbols = new Map<string, number>();
    for (const spec of this.model.inputs) {
      const value = spec.kind === "input" ? feeds[spec.name] : params?.get(spec.name);
      if (!value) {
        const what = spec.kind === "input" ? "graph input" : "parameter";
        throw new FeedError({ op: "CompiledGraph.run", expected: `${what} "${spec.name}" ${spec.dtype}${fmtShape(spec.shape)}`, got: "nothing" });
      }
      checkFeed(spec.name, spec.dtype, spec.shape, value, symbols);
      ortFeeds[spec.name] = toOrt(value);
    }
    for (const name of Object.keys(feeds)) {
      if (!this.model.inputs.some((i) => i.name === name)) {
        throw new FeedError({ op: "CompiledGraph.run", expected: `one of the inputs [${this.model.inputs.filter((i) => i.kind === "input").map((i) => i.name).join(", ")}]`, got: `unknown feed "${name}"` });
      }
    }
    let fetches: Record<string, OrtTensor | null> | undefined;
    if (into) {
      fetches = {};
      for (const o of this.model.outputs) fetches[o.name] = into[o.name] ? toOrt(into[o.name]!) : null;
    }
    const result = fetches ? await this.session.run(ortFeeds, fetches) : await this.session.run(ortFeeds);
    const out: Record<string, HostTensor> = {};
    for (const o of this.model.outputs) {
      const pre = into?.[o.name];
      out[o.name] = pre ?? fromOrt(result[o.name]!, o.dtype);
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

function checkFeed(name: string, dtype: DType, shape: Shape, value: HostTensor, symbols: Map<string, number>): void {
  const bad = () => new FeedError({ op: "CompiledGraph.run", scope: name, expected: `${dtype}${fmtShape(shape)}`, got: `${value.dtype}${fmtShape(value.shape)}` });
  if (value.dtype !== dtype || value.shape.length !== shape.length) throw bad();
  shape.forEach((d, i) => {
    const v = value.shape[i]!;
    if (typeof d === "number") {
      if (d !== v) throw bad();
    } else {
      const bound = symbols.get(d);
      if (bound !== undefined && bound !== v) {
        throw new FeedError({ op: "CompiledGraph.run", scope: name, expected: `dimension ${d} = ${bound} as in earlier feeds`, got: `${v} in ${fmtShape(value.shape)}` });
      }
      symbols.set(d, v);
    }
  });
}

/** onnxruntime-web names its CPU backend "wasm"; onnxruntime-node "cpu". */
function defaultProvider(): ExecutionProvider {
  return onnxRuntimeName() === "onnxruntime-web" ? "wasm" : "cpu";
}

function toOrt(t: HostTensor): OrtTensor {
  return new (onnxRuntime().Tensor)(t.dtype === "bool" ? "bool" : t.dtype, t.data as never, [...t.shape]);
}

function fromOrt(t: OrtTensor, dtype: DType): HostTensor {
  return new HostTensor(dtype, t.dims.map(Number), t.data as HostArray);
}
