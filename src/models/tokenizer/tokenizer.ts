// The Stage I tokenizer for inference: images in [0, 1] -> token ids -> images. Weights load
// strictly from a safetensors file (config in its metadata), a torch.save checkpoint (.bin, the
// released format) plus a config, or memory. Each entry point compiles its graph once per input
// shape; the ONNX Runtime sessions belong to the Tokenizer and are released by dispose(). The
// sessions hold the weights (SessionOptions.residentWeights): `params` stays for save() and
// export, and a params.set() makes the next call recompile with the new values.

import { Graph, type Tensor } from "../../engine/graph/tensor.js";
import { HostTensor } from "../../engine/host-tensor.js";
import { ParamStore } from "../../engine/params.js";
import { CompiledGraph, type SessionOptions } from "../../engine/runtime/session.js";
import { ResidentSessionCache } from "../../engine/runtime/session-cache.js";
import { ConfigError, FeedError, fmtShape } from "../../engine/errors.js";
import { writeSafetensors } from "../../io/safetensors.js";
import { CONFIG_METADATA_KEY, readModelFile, type ModelConfigCodec, type ModelFileLimits } from "../../io/model-file.js";
import { describeSource, type ByteSource, type LoadProgress } from "../../io/source.js";
import { imageInputToTensor, type ImageInput } from "../../io/image-input.js";
import { isParamsSource, resolveConfig, resolveModelSource, type ShippedModelName } from "../model-source.js";
import {
  codebookSize, latentStride, toOfficialSection, tokenizerConfigFromJson, tokenizerConfigFromYaml, validateTokenizerConfig, type TokenizerConfig,
} from "./config.js";
import { buildDecodeIds, buildEncode, tokenizerParamSpecs } from "./forward.js";
import { checkFiniteImages } from "../finite.js";
import { requireTensor } from "../argument-checks.js";

/** Metadata key of the config (official vq_model section as JSON) in a tokenizer safetensors file. */
export { CONFIG_METADATA_KEY };

export type TokenizerSource =
  /** A shipped model by name. */
  | ShippedModelName
  /**
   * A safetensors file (config from its metadata unless given) or a torch.save checkpoint (config
   * required), as a path (Node), URL, Response, Blob, ArrayBuffer or Uint8Array.
   */
  | ByteSource
  | { readonly config: TokenizerConfig; readonly params: ReadonlyMap<string, HostTensor> | ParamStore };

export interface TokenizerLoadOptions {
  /**
   * A config object, the official tokenizer YAML as text (any string with a line break), or its
   * path / URL; required for checkpoints without metadata.
   */
  readonly config?: TokenizerConfig | string | URL;
  readonly session?: SessionOptions;
  /** Called as the model's bytes arrive. */
  readonly onProgress?: (p: LoadProgress) => void;
  readonly signal?: AbortSignal;
  /**
   * Limits for the file's reader (safetensors header size, tensor count, metadata value length;
   * torch zip / pickle sizes). A file over one is refused with a CheckpointError naming the limit;
   * raise it only for a file you trust. Defaults: DEFAULT_SAFETENSORS_LIMITS, DEFAULT_TORCH_LIMITS.
   */
  readonly limits?: ModelFileLimits;
}

export interface EncodeResult {
  /** [B, h, w] int64. */
  readonly ids: HostTensor;
  /** The quantized latent [B, D, h, w] the decoder consumes. */
  readonly latent: HostTensor;
  /** LFQ only: the same latent, which is exactly the +-1 bits (channel 0 = least significant). */
  readonly bits?: HostTensor;
  /**
   * With `returnPreQuant`: the encoder's continuous output z [B, D, h, w] float32, before
   * quantization (what the official encoder hands its quantizer; D = token bits for LFQ).
   */
  readonly preQuant?: HostTensor;
}

export interface EncodeOptions {
  /** Also return the pre-quantization latent z as `preQuant` (default false). */
  readonly returnPreQuant?: boolean;
}

export interface DecodeOptions {
  /** Clamp to [0, 1] as for display and metrics (default false: the raw decoder output). */
  readonly clamp?: boolean;
}

export class Tokenizer {
  private readonly sessions: ResidentSessionCache<CompiledGraph>;

  private constructor(
    readonly config: TokenizerConfig,
    readonly params: ParamStore,
    private readonly sessionOptions: SessionOptions,
  ) {
    const { maxBatch } = sessionOptions;
    if (maxBatch !== undefined && !(Number.isSafeInteger(maxBatch) && maxBatch >= 1)) {
      throw new FeedError({ op: "Tokenizer", scope: "session.maxBatch", expected: "an integer >= 1 (images per run), or nothing for the default", got: String(maxBatch) });
    }
    this.sessions = new ResidentSessionCache("Tokenizer", () => (this.resident ? params.revision : 0), sessionOptions.maxCachedSessions);
  }

  private get resident(): boolean {
    return this.sessionOptions.residentWeights ?? true;
  }

  static async load(source: TokenizerSource, opts: TokenizerLoadOptions = {}): Promise<Tokenizer> {
    const read = { ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(opts.signal ? { signal: opts.signal } : {}) };
    const given = await resolveConfig(opts.config, tokenizerConfigFromYaml, read);
    let config: TokenizerConfig;
    let state: ReadonlyMap<string, HostTensor>;
    let what: string;
    if (isParamsSource(source)) {
      if (given) throw new ConfigError({ op: "Tokenizer.load", expected: "the config once (in the source object)", got: "also opts.config" });
      config = source.config;
      state = source.params instanceof ParamStore ? source.params.values : source.params;
      what = "params";
    } else {
      const bytes = resolveModelSource(source, "tokenizer");
      ({ config, state } = await readModelFile(bytes, given, TOKENIZER_CODEC, read, opts.limits ?? {}));
      what = describeSource(bytes);
    }
    validateTokenizerConfig(config);
    return new Tokenizer(config, ParamStore.loadStrict(tokenizerParamSpecs(config), state, what), opts.session ?? {});
  }

  /** Freshly initialised weights (PyTorch default init), e.g. to start training. */
  static random(config: TokenizerConfig, seed: number, session: SessionOptions = {}): Tokenizer {
    return new Tokenizer(validateTokenizerConfig(config), ParamStore.init(tokenizerParamSpecs(config), seed), session);
  }

  /** Pixels per token along each axis. */
  get stride(): number {
    return latentStride(this.config);
  }

  /** Writes weights and config (plus e.g. the training image_size) as safetensors, loadable by Tokenizer.load(path). */
  save(path: string, metadata: Readonly<Record<string, string>> = {}): void {
    const ordered = new Map(tokenizerParamSpecs(this.config).map((s) => [s.key, this.params.get(s.key)!]));
    writeSafetensors(path, ordered, { ...metadata, [CONFIG_METADATA_KEY]: JSON.stringify(toOfficialSection(this.config)) });
  }

  /**
   * images -> ids [B, H/s, W/s] (s = 2^(numResolutions-1), rounded up). Images are a float32
   * [B, C, H, W] tensor in [0, 1], RGBA pixels (ImageData), or encoded image bytes (PNG anywhere,
   * JPEG and others in Node), one or a list. `{ returnPreQuant: true }` adds the continuous z.
   */
  encode(input: ImageInput, o: EncodeOptions = {}): Promise<EncodeResult> {
    return this.sessions.hold(() => this.encodeNow(input, o));
  }

  private async encodeNow(input: ImageInput, o: EncodeOptions): Promise<EncodeResult> {
    const images = await imageInputToTensor(input, this.config.numChannels === 1 ? 1 : 3);
    const [b, , h, w] = this.checkImages("encode", images);
    const withZ = o.returnPreQuant ?? false;
    const { ids, latent, preQuant } = await this.inChunks(b!, h! * w!, async (start, n) => {
      const run = await this.compiled(`encode:${n}x${h}x${w}${withZ ? ":z" : ""}`, (g): Record<string, Tensor> => {
        const { ids, latent, preQuant } = buildEncode(g.input("images", "float32", [n, images.shape[1]!, h!, w!]), this.config);
        return withZ ? { ids, latent, preQuant } : { ids, latent };
      });
      return this.runCompiled(run, { images: images.rows(start, n) });
    });
    const result: EncodeResult = this.config.quantizer.kind === "lfq" ? { ids: ids!, latent: latent!, bits: latent! } : { ids: ids!, latent: latent! };
    return withZ ? { ...result, preQuant: preQuant! } : result;
  }

  /** ids [B, h, w] (or [B, L] with L a square, row-major) int64 -> images [B, C, h*s, w*s]. */
  decode(ids: HostTensor, o: DecodeOptions = {}): Promise<HostTensor> {
    return this.sessions.hold(async () => {
      const [b, gh, gw] = this.checkIds(ids);
      const clamp = o.clamp ?? false;
      const all = ids.reshape([b, gh, gw]);
      return (await this.inChunks(b, gh * gw * this.stride ** 2, async (start, n) => {
        const run = await this.compiled(`decode:${n}x${gh}x${gw}:${clamp}`, (g) => ({ images: buildDecodeIds(g.input("ids", "int64", [n, gh, gw]), this.config, { clamp }) }));
        return this.runCompiled(run, { ids: all.rows(start, n) });
      })).images!;
    });
  }

  /** encode then decode in one graph. */
  reconstruct(images: HostTensor, o: DecodeOptions = {}): Promise<{ readonly images: HostTensor; readonly ids: HostTensor }> {
    return this.sessions.hold(async () => {
      const [b, , h, w] = this.checkImages("reconstruct", images);
      const clamp = o.clamp ?? false;
      const out = await this.inChunks(b!, h! * w!, async (start, n) => {
        const run = await this.compiled(`reconstruct:${n}x${h}x${w}:${clamp}`, (g) => {
          const { ids } = buildEncode(g.input("images", "float32", [n, images.shape[1]!, h!, w!]), this.config);
          return { ids, reconstruction: buildDecodeIds(ids, this.config, { clamp }) };
        });
        return this.runCompiled(run, { images: images.rows(start, n) });
      });
      return { images: out.reconstruction!, ids: out.ids! };
    });
  }

  /** Releases every compiled session; the Tokenizer is unusable afterwards. */
  async dispose(): Promise<void> {
    await this.sessions.dispose();
  }

  /** Live compiled sessions (one per entry point and input shape), e.g. to check what is held. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  private compiled(key: string, build: (g: Graph) => Record<string, Tensor>): Promise<CompiledGraph> {
    return this.sessions.get(key, () => {
      const g = new Graph();
      return CompiledGraph.create(g, build(g), this.sessionOptions, this.resident ? { residentWeights: this.params } : { kind: "inference" });
    });
  }

  /**
   * Runs a batch of b images of `pixels` pixels each in chunks of at most maxBatch images (by
   * default as many as make MAX_PIXELS_PER_RUN), joining every output along the batch. Each image
   * is computed on its own, so the result equals one run over the whole batch, while memory is
   * bounded by the chunk and at most two session shapes (chunk and remainder) are compiled.
   */
  private async inChunks(b: number, pixels: number, run: (start: number, n: number) => Promise<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
    const per = this.sessionOptions.maxBatch ?? Math.max(1, Math.floor(MAX_PIXELS_PER_RUN / pixels));
    if (b <= per) return run(0, b);
    const parts: Record<string, HostTensor>[] = [];
    for (let start = 0; start < b; start += per) parts.push(await run(start, Math.min(per, b - start)));
    return Object.fromEntries(Object.keys(parts[0]!).map((k) => [k, HostTensor.concatRows(parts.map((p) => p[k]!))]));
  }

  private runCompiled(run: CompiledGraph, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
    return run.run(feeds, this.resident ? undefined : this.params);
  }

  private checkImages(op: string, images: HostTensor): number[] {
    const c = this.config.numChannels;
    requireTensor(`Tokenizer.${op}`, "images", images, `images float32[B, ${c}, H, W]`);
    if (images.dtype !== "float32" || images.shape.length !== 4 || images.shape[1] !== c || images.shape[0]! < 1) {
      throw new FeedError({ op: `Tokenizer.${op}`, expected: `images float32[B, ${c}, H, W]`, got: `${images.dtype}${fmtShape(images.shape)}` });
    }
    checkFiniteImages(`Tokenizer.${op}`, images);
    return [...images.shape];
  }

  /** The [B, h, w] grid of an id tensor, after checking every id is a valid code. */
  private checkIds(ids: HostTensor): [number, number, number] {
    const fail = (expected: string, got: string) => new FeedError({ op: "Tokenizer.decode", expected, got });
    requireTensor("Tokenizer.decode", "ids", ids, "ids int64[B, h, w] or int64[B, h*w]");
    if (ids.dtype !== "int64" || (ids.shape.length !== 2 && ids.shape.length !== 3)) {
      throw fail("ids int64[B, h, w] or int64[B, h*w]", `${ids.dtype}${fmtShape(ids.shape)}`);
    }
    let grid: [number, number, number];
    if (ids.shape.length === 3) grid = [ids.shape[0]!, ids.shape[1]!, ids.shape[2]!];
    else {
      const side = Math.round(Math.sqrt(ids.shape[1]!));
      if (side * side !== ids.shape[1]) throw fail("a square number of tokens per image for [B, L] ids", `L = ${ids.shape[1]}`);
      grid = [ids.shape[0]!, side, side];
    }
    if (grid.some((d) => d < 1)) throw fail("at least one image of at least one token (B, h, w >= 1)", `ids ${fmtShape(ids.shape)}`);
    const n = BigInt(codebookSize(this.config));
    const data = ids.data as BigInt64Array;
    for (let i = 0; i < data.length; i++) {
      if (data[i]! < 0n || data[i]! >= n) throw fail(`ids in [0, ${n})`, `${data[i]} at flat index ${i}`);
    }
    return grid;
  }
}

/**
 * Image pixels per session run when SessionOptions.maxBatch is unset: 1024 images of 32x32, 16 of
 * 256x256. Larger batches run in chunks, so a whole dataset passed at once needs no more working
 * memory than one chunk (its input and output still scale with it).
 */
export const MAX_PIXELS_PER_RUN = 2 ** 20;

const TOKENIZER_CODEC: ModelConfigCodec<TokenizerConfig> = {
  op: "Tokenizer.load",
  fromJson: tokenizerConfigFromJson,
  toJson: (c) => JSON.stringify(toOfficialSection(c)),
  compatible: (a, b) => JSON.stringify(toOfficialSection(a)) === JSON.stringify(toOfficialSection(b)),
};
