// The Stage II generator for inference: class labels -> token ids (and images, given a tokenizer).
// Weights load strictly from a safetensors file (config in its metadata), a torch.save checkpoint
// (.bin, the released format, legacy `token_emb.*` keys renamed) plus a config, or memory. Sampler
// sessions take any batch size; one is compiled per (guidance on/off, randomness) and released by
// dispose().

import type { HostTensor } from "../../engine/host-tensor.js";
import { ParamStore } from "../../engine/params.js";
import type { SessionOptions } from "../../engine/runtime/session.js";
import { ResidentSessionCache } from "../../engine/runtime/session-cache.js";
import { ConfigError, FeedError } from "../../engine/errors.js";
import { requireHooks, requireLabels, requireOptions, requireTensor } from "../argument-checks.js";
import { writeSafetensors } from "../../io/safetensors.js";
import { CONFIG_METADATA_KEY, readModelFile, type ModelConfigCodec, type ModelFileLimits } from "../../io/model-file.js";
import { renameLegacyGeneratorKeys } from "../../io/keymap.js";
import { describeSource, type ByteSource, type LoadProgress } from "../../io/source.js";
import { isParamsSource, resolveConfig, resolveModelSource, type ShippedModelName } from "../model-source.js";
import { generatorConfigFromJson, generatorConfigFromOfficial, generatorConfigToJson, sameArchitecture, validateGeneratorConfig, type GeneratorConfig, type SamplingDefaults } from "./config.js";
import { generatorParamSpecs, linearWeightKeys } from "./transformer.js";
import { INFERENCE_DTYPES, reduceWeights, type InferenceDType, type ReducedWeights } from "../../engine/quant/weights.js";
import { Sampler, type RandomSource, type SamplerStep } from "./sampler.js";
import { completeTokens, type CompleteOptions, type CompletionResult } from "./edit.js";
import { outpaintTokens, type OutpaintOptions, type OutpaintResult } from "./outpaint.js";
import { CompiledGraph } from "../../engine/runtime/session.js";
import { buildLogitsGraph, logitsFeeds, type LogitsRequest } from "./logits.js";

export type { LogitsRequest };

/** Metadata key under which a generator safetensors file stores its GeneratorConfig (JSON). */
export { CONFIG_METADATA_KEY };

export type GeneratorSource =
  /** A shipped model by name. */
  | ShippedModelName
  /**
   * A safetensors file (config from its metadata unless given) or a torch.save checkpoint (config
   * required), as a path (Node), URL, Response, Blob, ArrayBuffer or Uint8Array.
   */
  | ByteSource
  | { readonly config: GeneratorConfig; readonly params: ReadonlyMap<string, HostTensor> | ParamStore; readonly classNames?: readonly string[] };

export interface GeneratorLoadOptions {
  /**
   * A config object, the official generator YAML as text (any string with a line break), or its
   * path / URL; required for checkpoints without metadata.
   */
  readonly config?: GeneratorConfig | string | URL;
  readonly session?: SessionOptions;
  /** Called as the model's bytes arrive. */
  readonly onProgress?: (p: LoadProgress) => void;
  readonly signal?: AbortSignal;
  /**
   * Precision of the transformer's linear layers for sampling, editing and logits (default "fp32").
   * "fp16": weights rounded to half precision once here and cast back to float32 in the graph.
   * "int8": weights quantized once here (symmetric, one scale per output column), activations
   * quantized per tensor at run time (DynamicQuantizeLinear + MatMulInteger). Attention scores,
   * embeddings, norms and biases stay float32; the fp32 parameters are kept (save() writes them).
   * Measured cost and speed: BENCHMARKS.md, "Reduced-precision inference".
   */
  readonly dtype?: InferenceDType;
  /**
   * Limits for the file's reader (safetensors header size, tensor count, metadata value length;
   * torch zip / pickle sizes). A file over one is refused with a CheckpointError naming the limit;
   * raise it only for a file you trust. Defaults: DEFAULT_SAFETENSORS_LIMITS, DEFAULT_TORCH_LIMITS.
   */
  readonly limits?: ModelFileLimits;
}

/** What sample() needs from a tokenizer (models/tokenizer's Tokenizer fits): ids [B, L] -> images. */
export interface IdsDecoder {
  decode(ids: HostTensor, o?: { readonly clamp?: boolean }): Promise<HostTensor>;
}

export interface SampleOptions extends Partial<SamplingDefaults> {
  /** One class label per image; the batch size is labels.length. */
  readonly labels: readonly number[];
  /** Seed of the in-graph RNG (default: a fresh random seed, reported in the result). */
  readonly seed?: number;
  /** Replaces the in-graph RNG by fed uniforms (tests, cross-implementation checks). */
  readonly random?: Extract<RandomSource, { kind: "uniforms" }>;
  readonly onStep?: (step: SamplerStep) => void | Promise<void>;
  readonly signal?: AbortSignal;
  /** Decode the ids to images with this tokenizer. */
  readonly tokenizer?: IdsDecoder;
  /** Clamp decoded images to [0, 1] (default false: the raw decoder output, as the official sample()). */
  readonly clamp?: boolean;
}

export interface GenerationResult {
  /**
   * [B, h, w] int64 token ids, the tokenizer's layout (both stages use the grid; the sampler's
   * flat [B, L] sequence is `ids.reshape([B, h * w])`, row-major).
   */
  readonly ids: HostTensor;
  /** [B, K, H, W] float32 +-1 latent bits. */
  readonly bits: HostTensor;
  /** [B, 3, H*s, W*s] when a tokenizer was given. */
  readonly images?: HostTensor;
  /** The seed used (undefined with fed uniforms). */
  readonly seed?: number;
  readonly settings: SamplingDefaults;
}

/** Metadata key of the JSON list of class names in a generator file. */
export const CLASS_NAMES_METADATA_KEY = "class_names";

/** Longest class name accepted from a file: names label grids and reports, a few words each. */
export const MAX_CLASS_NAME_CHARS = 200;

/** The file's class names, checked before any use: a JSON list of numClasses strings of at most MAX_CLASS_NAME_CHARS. */
function parseClassNames(file: string, text: string | undefined, numClasses: number): string[] | undefined {
  if (text === undefined) return undefined;
  const scope = `${file} __metadata__.${CLASS_NAMES_METADATA_KEY}`;
  // Bound the text before parsing it: numClasses quoted names, escapes counted generously.
  const maxChars = numClasses * (6 * MAX_CLASS_NAME_CHARS + 3) + 2;
  if (text.length > maxChars) {
    throw new ConfigError({ op: "Generator.load", scope, expected: `${numClasses} class names of at most ${MAX_CLASS_NAME_CHARS} characters (at most ${maxChars} characters of JSON)`, got: `${text.length} characters` });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch { /* reported below */ }
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
    throw new ConfigError({ op: "Generator.load", scope, expected: "a JSON list of strings", got: text.slice(0, 80) });
  }
  const names = v as string[];
  if (names.length !== numClasses) throw new ConfigError({ op: "Generator.load", scope, expected: `${numClasses} class names (numClasses)`, got: `${names.length}` });
  const long = names.findIndex((n) => n.length > MAX_CLASS_NAME_CHARS);
  if (long >= 0) {
    throw new ConfigError({ op: "Generator.load", scope: `${scope}[${long}]`, expected: `a class name of at most ${MAX_CLASS_NAME_CHARS} characters`, got: `${names[long]!.length} characters ("${names[long]!.slice(0, 40)}...")` });
  }
  return names;
}

export class Generator {
  // Both hold the weights (SessionOptions.residentWeights); a params.set() makes the next call
  // recompile with the new values, and the stale sessions go once no call is using them.
  private readonly samplers: ResidentSessionCache<Sampler>;
  /** sample() calls in flight, with the controller that dispose() aborts them through. */
  private readonly running = new Map<Promise<unknown>, AbortController>();
  private readonly logitGraphs: ResidentSessionCache<CompiledGraph>;

  private constructor(
    readonly config: GeneratorConfig,
    readonly params: ParamStore,
    private readonly session: SessionOptions,
    /** Names of the class labels when the model file carries them (metadata "class_names"). */
    readonly classNames?: readonly string[],
    /** The precision inference runs in (GeneratorLoadOptions.dtype). */
    readonly dtype: InferenceDType = "fp32",
  ) {
    this.weights = dtype === "fp32" ? undefined : reduceWeights(dtype, new Map(linearWeightKeys(config).map((k) => [k, params.get(k)!])));
    const revision = () => (this.resident ? params.revision : 0);
    this.samplers = new ResidentSessionCache("Generator", revision, session.maxCachedSessions);
    this.logitGraphs = new ResidentSessionCache("Generator", revision, session.maxCachedSessions);
  }

  private get resident(): boolean {
    return this.session.residentWeights ?? true;
  }

  /** The fp16/int8 copies of the linear weights, made once here; undefined for fp32. */
  private readonly weights: ReducedWeights | undefined;

  static async load(source: GeneratorSource, opts: GeneratorLoadOptions = {}): Promise<Generator> {
    const read = { ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(opts.signal ? { signal: opts.signal } : {}) };
    const given = await resolveConfig(opts.config, generatorConfigFromOfficial, read);
    let config: GeneratorConfig;
    let state: ReadonlyMap<string, HostTensor>;
    let what: string;
    let classNames: readonly string[] | undefined;
    if (isParamsSource(source)) {
      if (given) throw new ConfigError({ op: "Generator.load", expected: "the config once (in the source object)", got: "also opts.config" });
      config = source.config;
      state = source.params instanceof ParamStore ? source.params.values : source.params;
      classNames = source.classNames;
      what = "params";
    } else {
      const bytes = resolveModelSource(source, "generator");
      what = describeSource(bytes);
      const file = await readModelFile(bytes, given, GENERATOR_CODEC, read, opts.limits ?? {});
      ({ config, state } = file);
      classNames = parseClassNames(what, file.metadata[CLASS_NAMES_METADATA_KEY], config.numClasses);
    }
    validateGeneratorConfig(config);
    const params = ParamStore.loadStrict(generatorParamSpecs(config), renameLegacyGeneratorKeys(state), what);
    if (classNames && classNames.length !== config.numClasses) {
      throw new ConfigError({ op: "Generator.load", scope: what, expected: `${config.numClasses} class names`, got: `${classNames.length}` });
    }
    const dtype = opts.dtype ?? "fp32";
    if (!INFERENCE_DTYPES.includes(dtype)) {
      throw new ConfigError({ op: "Generator.load", scope: "dtype", expected: `one of ${INFERENCE_DTYPES.join(", ")}`, got: JSON.stringify(dtype) });
    }
    return new Generator(config, params, opts.session ?? {}, classNames, dtype);
  }

  /** Freshly initialised weights (the official init), e.g. to start training. */
  static random(config: GeneratorConfig, seed: number, session: SessionOptions = {}, classNames?: readonly string[]): Generator {
    return new Generator(validateGeneratorConfig(config), ParamStore.init(generatorParamSpecs(config), seed), session, classNames);
  }

  /** Writes weights (official keys and order) and config as safetensors, loadable by Generator.load(path). */
  save(path: string): void {
    const ordered = new Map(generatorParamSpecs(this.config).map((s) => [s.key, this.params.get(s.key)!]));
    const meta: Record<string, string> = { [CONFIG_METADATA_KEY]: generatorConfigToJson(this.config) };
    if (this.classNames) meta[CLASS_NAMES_METADATA_KEY] = JSON.stringify(this.classNames);
    writeSafetensors(path, ordered, meta);
  }

  /** A class label from its id or (case- and punctuation-insensitive) name. */
  classId(nameOrId: string | number): number {
    const n = typeof nameOrId === "number" ? nameOrId : /^\d+$/.test(nameOrId) ? Number(nameOrId) : undefined;
    const norm = (x: string) => x.toLowerCase().replace(/[^a-z0-9]/g, "");
    const id = n ?? this.classNames?.findIndex((c) => norm(c) === norm(String(nameOrId)));
    if (id === undefined || id < 0 || id >= this.config.numClasses) {
      const known = this.classNames ? `one of ${this.classNames.map((c) => JSON.stringify(c)).join(", ")} or an id` : "an id";
      throw new ConfigError({ op: "Generator.classId", expected: `${known} in [0, ${this.config.numClasses})`, got: JSON.stringify(nameOrId) });
    }
    return id;
  }

  /** Runs the official decoding loop; unset sampling options default to the config's. */
  async sample(o: SampleOptions & { readonly tokenizer: IdsDecoder }): Promise<GenerationResult & { readonly images: HostTensor }>;
  async sample(o: SampleOptions): Promise<GenerationResult>;
  async sample(o: SampleOptions): Promise<GenerationResult> {
    requireOptions("Generator.sample", o, "options { labels, seed?, steps?, ... }");
    requireLabels("Generator.sample", o.labels);
    requireHooks("Generator.sample", o);
    const { labels, onStep, signal, tokenizer, clamp } = o;
    const settings = samplingSettings(this.config.sampling, o);
    validateGeneratorConfig({ ...this.config, sampling: settings });
    if (labels.length === 0) throw new FeedError({ op: "Generator.sample", expected: "at least one label", got: "none" });
    if (o.seed !== undefined && !(Number.isSafeInteger(o.seed) && o.seed >= 0)) throw new FeedError({ op: "Generator.sample", scope: "seed", expected: "an integer >= 0", got: String(o.seed) });
    const seed = o.random ? undefined : o.seed ?? Math.floor(Math.random() * 2 ** 31);
    const random: RandomSource = o.random ?? { kind: "seed", seed: seed! };
    // dispose() during sampling stops this run at its next step (and waits for it) instead of
    // freeing the sessions under it.
    const stop = new AbortController();
    const run = this.samplers.hold(async () => {
      const sampler = await this.sampler(settings.guidanceScale !== 0, random.kind);
      const out = await sampler.run({ labels, settings, random, onStep, signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal });
      const ids = out.ids.reshape([labels.length, this.config.tokenGrid, this.config.tokenGrid]);
      return { out, ids, images: tokenizer ? await tokenizer.decode(ids, { clamp: clamp ?? false }) : undefined };
    });
    this.running.set(run, stop);
    let out, ids, images;
    try {
      ({ out, ids, images } = await run);
    } catch (e) {
      if (stop.signal.aborted) throw new FeedError({ op: "Generator.sample", expected: "the generator to stay live until sample() resolves", got: "dispose() during sampling" });
      throw e;
    } finally {
      this.running.delete(run);
    }
    return { ids, bits: out.bits, ...(images ? { images } : {}), ...(seed !== undefined ? { seed } : {}), settings };
  }

  /**
   * Completes a partially known token grid (inpainting, class-conditional and bit-group edits):
   * unknown slots of `o.mask` are regenerated for `o.labels`, known ones are never changed; a full
   * mask gives exactly sample()'s ids for the same seed, an empty one the input ids. See edit.ts.
   */
  async complete(o: CompleteOptions): Promise<CompletionResult> {
    requireOptions("Generator.complete", o, "options { ids, mask, labels, seed?, ... }");
    requireLabels("Generator.complete", o.labels);
    requireHooks("Generator.complete", o);
    requireTensor("Generator.complete", "ids", o.ids, "known ids int64[B or 1, h, w] or [B or 1, h*w]");
    requireTensor("Generator.complete", "mask", o.mask, "the unknown slots [B or 1, h, w] / [B or 1, h, w, groups]");
    const settings = samplingSettings(this.config.sampling, o);
    validateGeneratorConfig({ ...this.config, sampling: settings });
    return this.samplers.hold(() => completeTokens(this.config, settings, o, (guidance, kind) => this.sampler(guidance, kind)));
  }

  /** Extends an id grid by whole tokens on any side, window by window (see outpaint.ts). */
  async outpaint(o: OutpaintOptions): Promise<OutpaintResult> {
    requireOptions("Generator.outpaint", o, "options { ids, pad: { left?, right?, top?, bottom? }, labels, ... }");
    requireLabels("Generator.outpaint", o.labels);
    requireHooks("Generator.outpaint", o);
    requireTensor("Generator.outpaint", "ids", o.ids, "known ids int64[B or 1, h, w]");
    requireOptions("Generator.outpaint", o.pad, "pad { left?, right?, top?, bottom? } in whole tokens");
    return outpaintTokens((c) => this.complete(c), this.config.tokenGrid, o);
  }

  /**
   * One forward pass of the transformer on a given token grid and labels, as the official module
   * computes it (no guidance, temperature or sampling): float32 logits [B, L, groups, 2^b] with
   * L = tokenGrid^2 and b = tokenBits / groups, over each bit group's values (the mask token is
   * never predicted). `mask` (bool [B, L, groups] or [B, L]) replaces slots by the mask token
   * first; `unconditional` uses the null class.
   */
  logits(r: LogitsRequest): Promise<HostTensor> {
    return this.logitGraphs.hold(async () => {
      const feeds = logitsFeeds(this.config, r);
      const b = r.labels.length;
      this.samplers.sync();
      const compiled = await this.logitGraphs.get(String(b), () => {
        const { graph, outputs } = buildLogitsGraph(this.config, b, this.weights);
        return CompiledGraph.create(graph, outputs, this.session, this.resident ? { residentWeights: this.params } : { kind: "inference" });
      });
      return (await compiled.run(feeds, this.resident ? undefined : this.params)).logits!;
    });
  }

  /** Live compiled sessions (samplers and logit graphs), e.g. to check what is held. */
  get sessionCount(): number {
    return this.samplers.size + this.logitGraphs.size;
  }

  /** Releases every compiled session; the Generator is unusable afterwards. */
  async dispose(): Promise<void> {
    for (const stop of this.running.values()) stop.abort();
    await Promise.allSettled([...this.running.keys()]);
    await this.samplers.dispose();
    await this.logitGraphs.dispose();
  }

  private sampler(guidance: boolean, randomness: RandomSource["kind"]): Promise<Sampler> {
    this.logitGraphs.sync();
    return this.samplers.get(`${guidance}:${randomness}`, () => Sampler.create(this.config, this.params, { guidance, randomness, session: this.session, residentWeights: this.resident, ...(this.weights ? { weights: this.weights } : {}) }));
  }
}

/** The config's sampling defaults with every setting the caller gave replacing its default. */
function samplingSettings(defaults: SamplingDefaults, given: Partial<SamplingDefaults>): SamplingDefaults {
  const pick = <K extends keyof SamplingDefaults>(key: K): SamplingDefaults[K] => given[key] ?? defaults[key];
  return {
    steps: pick("steps"), guidanceScale: pick("guidanceScale"), guidanceAnnealing: pick("guidanceAnnealing"), scalePow: pick("scalePow"),
    randomizeTemperature: pick("randomizeTemperature"), softmaxTemperature: pick("softmaxTemperature"),
    samplingAnnealing: pick("samplingAnnealing"), maskSchedule: pick("maskSchedule"),
  };
}

// A given config may change sampling or training settings (the 14-bit weights serve three
// recipes), but not the network the weights belong to.
const GENERATOR_CODEC: ModelConfigCodec<GeneratorConfig> = {
  op: "Generator.load", fromJson: generatorConfigFromJson, toJson: generatorConfigToJson, compatible: sameArchitecture,
};
