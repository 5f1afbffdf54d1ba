// MaskGIT-style iterative decoding with classifier-free guidance (spec 3.5), following the
// official loop step for step. All per-slot numerics of one step (model on the doubled batch,
// guidance, softmax, categorical draw, confidence, Gumbel noise, sort and re-mask threshold) are one
// compiled graph, run T times; the host only computes the per-step scalars (k, CFG scale,
// temperatures) and carries the token state between runs.

import { Graph, type Dim, type Tensor } from "../../engine/graph/tensor.js";
import { HostTensor, shapeSize } from "../../engine/host-tensor.js";
import {
  add, cast, concat, cumSum, div, equal, expandLike, gather, gatherElements, lessOrEqual, log, minimum, mul, neg, randomUniform, reduceSum,
  reshape, slice, softmax, squeeze, sub, topK, unsqueeze, where,
} from "../../engine/ops/index.js";
import { ForwardContext } from "../../engine/nn/index.js";
import { CompiledGraph, type ParamSource, type SessionOptions } from "../../engine/runtime/session.js";
import type { ReducedWeights } from "../../engine/quant/weights.js";
import { FeedError } from "../../engine/errors.js";
import { bitsToLatent, combineGroups, idsToBits } from "./bit-groups.js";
import { guidanceScaleAt, numToMask, softmaxTemperatureAt, stepSeed } from "./masking.js";
import { generatorForward } from "./transformer.js";
import { groupBits, maskId, numSlots, seqLen, type GeneratorConfig, type SamplingDefaults } from "./config.js";

/** Where the two uniform draws of each step come from. */
export type RandomSource =
  /** In-graph counter-based RNG: reproducible from the seed, nothing random crosses from JS. */
  | { readonly kind: "seed"; readonly seed: number }
  /** Fed uniforms in (0, 1), each [B, L, N] (e.g. a golden case's stored draws). */
  | { readonly kind: "uniforms"; readonly at: (step: number) => { readonly categorical: HostTensor; readonly gumbel: HostTensor } };

/** Intermediate values of one step (only when the sampler is built with `trace`). */
export interface StepTrace {
  readonly numMaskedBefore: number;
  readonly numToMask: number;
  readonly cfgScale: number;
  /** Model input [B, L, N] (conditional half). */
  readonly tokensBefore: HostTensor;
  /** Raw model output: [2B, L, N, C] with guidance (conditional rows first), else [B, L, N, C]. */
  readonly modelLogits: HostTensor;
  readonly probs: HostTensor;
  /** The categorical draw for every slot, fixed ones included. */
  readonly rawSamples: HostTensor;
  /** Per-sample ascending confidence scores [B, L*N] (+inf for fixed slots). */
  readonly scoresSorted: HostTensor;
}

export interface SamplerStep {
  readonly step: number;
  readonly steps: number;
  /** State after this step: group tokens [B, L, N], the mask id where still masked. */
  readonly tokens: HostTensor;
  /** This step's fully filled prediction [B, L, N] and its ids [B, L]. */
  readonly predicted: HostTensor;
  readonly predictedIds: HostTensor;
  /** Slots of sample 0 still masked after this step. */
  readonly numMasked: number;
  readonly trace?: StepTrace;
}

export interface SampleRequest {
  /** One class label per sample. */
  readonly labels: readonly number[];
  readonly settings: SamplingDefaults;
  readonly random: RandomSource;
  readonly onStep?: (step: SamplerStep) => void | Promise<void>;
  /** Checked before every step; aborting rejects with the signal's reason (an AbortError by default). */
  readonly signal?: AbortSignal;
  /**
   * Editing: the starting group tokens [B, L, N], the mask id on every unknown slot (default: all
   * unknown, the official start). The schedule then counts unknown slots only; see Sampler.run.
   */
  readonly initial?: HostTensor;
}

export interface SampleResult {
  /** Token ids [B, L] int64 (row-major over the token grid). */
  readonly ids: HostTensor;
  /** The final group tokens [B, L, N]. */
  readonly groups: HostTensor;
  /** +-1 latent bits [B, K, H, W] float32, ready for the tokenizer's decoder. */
  readonly bits: HostTensor;
}

export interface SamplerOptions {
  /**
   * A fixed batch size (an exported step graph's static shapes). Omitted, the batch is symbolic:
   * one session samples any number of images, so a model holds its resident weights once for
   * every batch size it is asked for.
   */
  readonly batch?: number;
  /** Run the doubled (conditional + null-class) batch for classifier-free guidance. */
  readonly guidance: boolean;
  readonly randomness: RandomSource["kind"];
  /** Also fetch model logits, probabilities, raw draws and sorted scores every step. */
  readonly trace?: boolean;
  readonly session?: SessionOptions;
  /** fp16/int8 linear weights baked into the step graph (Generator's dtype); default fp32 from the params. */
  readonly weights?: ReducedWeights;
  /**
   * Bake the params into the session when it compiles (default true): nothing is fed per step,
   * and later changes to the params do not reach this sampler. false feeds them at every step.
   */
  readonly residentWeights?: boolean;
}

/** Inverse-CDF draw: the first index whose float64 cumulative probability exceeds u, at most C - 1. */
function categorical(probs: Tensor, u: Tensor): Tensor {
  const c = probs.shape[probs.rank - 1] as number;
  const cdf = cumSum(cast(probs, "float64"), -1);
  const below = cast(lessOrEqual(cdf, unsqueeze(cast(u, "float64"), [-1])), "int64");
  return minimum(reduceSum(below, [-1]), c - 1);
}

/** [a; b] along a new leading axis, flattened into the batch: concat([a, b], 0) for a symbolic batch too. */
function stackBatch(a: Tensor, b: Tensor): Tensor {
  return reshape(concat([unsqueeze(a, [0]), unsqueeze(b, [0])], 0), [-1, ...a.shape.slice(1)]);
}

/** The two halves of a stacked batch (stackBatch's inverse). */
function splitBatch(x: Tensor): [Tensor, Tensor] {
  const halves = reshape(x, [2, -1, ...x.shape.slice(1)]);
  return [squeeze(slice(halves, [0], [0], [1]), [0]), squeeze(slice(halves, [0], [1], [2]), [0])];
}

/** One decoding step as a graph; see SamplerStep / StepTrace for the outputs. */
export function buildSamplerStep(cfg: GeneratorConfig, o: SamplerOptions): { graph: Graph; outputs: Record<string, Tensor> } {
  const g = new Graph();
  g.reducedWeights = o.weights;
  const batch: Dim = o.batch ?? "B", l = seqLen(cfg), n = cfg.groups, m = maskId(cfg), slots = numSlots(cfg);
  const tokens = g.input("tokens", "int64", [batch, l, n]);
  const labels = g.input("labels", "int64", [batch]);
  const scalar = (name: string) => g.input(name, "float32", []);
  const [temperature, noiseTemperature, remaining] = ["temperature", "randomizeTemperature", "oneMinusProgress"].map(scalar);
  // One index per sample: editing runs (SampleRequest.initial) re-mask a different count per row.
  const thresholdIndex = g.input("thresholdIndex", "int64", [batch]);
  // Label dropout per row, shaped like the labels (whatever the batch): false keeps the class.
  const dropLabel = (drop: boolean) => expandLike(g.constant(new HostTensor("bool", [], Uint8Array.of(Number(drop)))), labels);
  const ctx = ForwardContext.inference();

  let modelLogits: Tensor, logits: Tensor;
  if (o.guidance) {
    // Conditional rows first, then the same rows with the null class.
    const both = { tokens: stackBatch(tokens, tokens), labels: stackBatch(labels, labels), dropLabel: stackBatch(dropLabel(false), dropLabel(true)) };
    modelLogits = generatorForward(both, cfg, ctx).logits;
    const [cond, uncond] = splitBatch(modelLogits);
    logits = add(cond, mul(scalar("cfgScale"), sub(cond, uncond)));
  } else {
    modelLogits = logits = generatorForward({ tokens, labels, dropLabel: dropLabel(false) }, cfg, ctx).logits;
  }
  const probs = softmax(div(logits, temperature!), -1);

  let uniformCat: Tensor, gumbelU: Tensor;
  if (o.randomness === "seed") {
    const seed = g.input("seed", "int64", []);
    [uniformCat, gumbelU] = [randomUniform(tokens, seed, 1), randomUniform(tokens, seed, 2)];
  } else {
    [uniformCat, gumbelU] = [g.input("uniformCat", "float32", [batch, l, n]), g.input("gumbelU", "float32", [batch, l, n])];
  }
  const raw = categorical(probs, uniformCat);
  const masked = equal(tokens, m);
  const predicted = where(masked, raw, tokens);
  // Confidence of the chosen value; fixed slots get +inf so they are never re-masked.
  const confidence = where(masked, squeeze(gatherElements(probs, unsqueeze(predicted, [-1]), -1), [-1]), Infinity);
  const gumbel = neg(log(neg(log(gumbelU))));
  const scores = add(log(confidence), mul(mul(gumbel, noiseTemperature!), remaining!));
  const [sorted] = topK(reshape(scores, [batch, slots]), slots, -1, false);
  const threshold = reshape(gatherElements(sorted, reshape(thresholdIndex, [batch, 1]), 1), [batch, 1, 1]);
  const next = where(lessOrEqual(scores, threshold), m, predicted);
  const ids = combineGroups(predicted, { groups: n, groupBits: groupBits(cfg) });
  const outputs: Record<string, Tensor> = {
    next, predicted, ids,
    numMasked: reduceSum(cast(equal(gather(next, g.constant(HostTensor.i64([0], [])), 0), m), "int64")),
    bits: bitsToLatent(idsToBits(ids, cfg.tokenBits), cfg.tokenGrid),
  };
  if (o.trace) Object.assign(outputs, { modelLogits, probs, raw, scoresSorted: sorted });
  return { graph: g, outputs };
}

export class Sampler {
  private constructor(
    private readonly compiled: CompiledGraph,
    private readonly cfg: GeneratorConfig,
    /** Fed at every step; undefined when the weights are resident in the session. */
    private readonly fedParams: ParamSource | undefined,
    readonly options: SamplerOptions,
  ) {}

  static async create(cfg: GeneratorConfig, params: ParamSource, o: SamplerOptions): Promise<Sampler> {
    const { graph, outputs } = buildSamplerStep(cfg, o);
    const resident = o.residentWeights ?? true;
    const compiled = await CompiledGraph.create(graph, outputs, o.session, { kind: "sampling", ...(resident ? { residentWeights: params } : {}) });
    return new Sampler(compiled, cfg, resident ? undefined : params, o);
  }

  /**
   * The decoding loop. Without `req.initial` this is the official loop: every slot starts masked,
   * k_i = clamp(floor(ratio_i * S), 1, m - 1) with S = L * N slots and m the masked count of sample 0.
   *
   * With `req.initial` (editing) each sample b starts with U_b unknown slots and the schedule applies
   * to those alone: k_i,b = clamp(floor(ratio_i * U_b), 1, m_b - 1), with m_b sample b's own masked
   * count. Known slots carry +inf confidence, so they are never re-masked and never change. When
   * k_i,b <= 0 (one unknown slot left, or none at all) nothing is re-masked; the official loop instead
   * reads the last sorted score there and re-masks every slot, which a row with U_b = S keeps, so a
   * fully unknown start reproduces the official loop (and sample()) exactly.
   */
  async run(req: SampleRequest): Promise<SampleResult> {
    const { cfg, options: o } = this;
    const s = req.settings;
    this.checkRequest(req);
    const steps = s.steps, slots = numSlots(cfg), m = BigInt(maskId(cfg)), batch = req.labels.length;
    const shape = [batch, seqLen(cfg), cfg.groups];
    let tokens: HostTensor = req.initial ?? new HostTensor("int64", shape, new BigInt64Array(shapeSize(shape)).fill(m));
    const editing = req.initial !== undefined;
    const unknown = editing ? countMasked(tokens, batch, m) : Array<number>(batch).fill(slots);
    let masked = [...unknown];
    let last: Record<string, HostTensor> | undefined;
    const labels = HostTensor.i64(req.labels);
    for (let i = 0; i < steps; i++) {
      req.signal?.throwIfAborted();
      const ks = masked.map((mb, b) => numToMask(i, steps, mb, unknown[b]!, s.maskSchedule));
      const cfgScale = guidanceScaleAt(i, steps, s.guidanceScale, s.guidanceAnnealing, s.scalePow);
      const feeds: Record<string, HostTensor> = {
        tokens, labels,
        temperature: HostTensor.scalar(softmaxTemperatureAt(i, steps, s.softmaxTemperature, s.samplingAnnealing)),
        randomizeTemperature: HostTensor.scalar(s.randomizeTemperature),
        oneMinusProgress: HostTensor.scalar(1 - (i + 1) / steps),
        // The official loop reads sorted[:, k - 1]; with k = 0 (one slot left) that is the last entry.
        thresholdIndex: HostTensor.i64(ks.map((k) => (k >= 1 ? k - 1 : slots - 1))),
      };
      if (o.guidance) feeds.cfgScale = HostTensor.scalar(cfgScale);
      if (req.random.kind === "seed") feeds.seed = stepSeed(req.random.seed, i);
      else {
        const u = req.random.at(i);
        feeds.uniformCat = u.categorical;
        feeds.gumbelU = u.gumbel;
      }
      const out = await this.compiled.run(feeds, this.fedParams);
      const trace: StepTrace | undefined = o.trace
        ? { numMaskedBefore: masked[0]!, numToMask: ks[0]!, cfgScale, tokensBefore: tokens, modelLogits: out.modelLogits!, probs: out.probs!, rawSamples: out.raw!, scoresSorted: out.scoresSorted! }
        : undefined;
      tokens = out.next!;
      if (editing) {
        const keep = ks.map((k, b) => k <= 0 && unknown[b]! < slots);
        if (keep.some(Boolean)) tokens = keepRows(tokens, out.predicted!, keep);
        masked = countMasked(tokens, batch, m);
      } else {
        masked = masked.map(() => out.numMasked!.at(0));
      }
      last = out;
      await req.onStep?.({ step: i, steps, tokens, predicted: out.predicted!, predictedIds: out.ids!, numMasked: masked[0]!, trace });
    }
    req.signal?.throwIfAborted();
    // The final prediction is fully filled; the last step's re-masking is discarded.
    return { ids: last!.ids!, groups: last!.predicted!, bits: last!.bits! };
  }

  async dispose(): Promise<void> {
    await this.compiled.dispose();
  }

  private checkRequest(req: SampleRequest): void {
    const { cfg, options: o } = this;
    const bad = req.labels.find((y) => !Number.isInteger(y) || y < 0 || y >= cfg.numClasses);
    const wrongCount = o.batch === undefined ? req.labels.length === 0 : req.labels.length !== o.batch;
    if (wrongCount || bad !== undefined) {
      const many = o.batch === undefined ? "one or more" : `${o.batch}`;
      throw new FeedError({ op: "Sampler.run", expected: `${many} integer labels in [0, ${cfg.numClasses})`, got: bad !== undefined ? `label ${bad}` : `${req.labels.length} labels` });
    }
    if (req.random.kind !== o.randomness) {
      throw new FeedError({ op: "Sampler.run", expected: `a "${o.randomness}" random source (as compiled)`, got: `"${req.random.kind}"` });
    }
    if ((req.settings.guidanceScale !== 0) !== o.guidance) {
      throw new FeedError({ op: "Sampler.run", expected: `guidanceScale ${o.guidance ? "!= 0" : "0"} (as compiled)`, got: `${req.settings.guidanceScale}` });
    }
    if (!Number.isInteger(req.settings.steps) || req.settings.steps < 1) {
      throw new FeedError({ op: "Sampler.run", expected: "steps >= 1", got: `${req.settings.steps}` });
    }
    const init = req.initial;
    if (init) {
      const want = [req.labels.length, seqLen(cfg), cfg.groups];
      if (init.dtype !== "int64" || init.shape.join() !== want.join()) {
        throw new FeedError({ op: "Sampler.run", scope: "initial", expected: `int64 group tokens [${want.join(", ")}]`, got: `${init.dtype}[${init.shape.join(", ")}]` });
      }
      const data = init.data as BigInt64Array, top = BigInt(maskId(cfg));
      const bad = data.findIndex((v) => v < 0n || v > top);
      if (bad >= 0) throw new FeedError({ op: "Sampler.run", scope: "initial", expected: `group tokens in [0, ${top}] (${top} = unknown)`, got: `${data[bad]} at flat index ${bad}` });
    }
  }
}

/** Slots holding the mask id, per sample of group tokens [B, L, N]. */
function countMasked(tokens: HostTensor, batch: number, m: bigint): number[] {
  const data = tokens.data as BigInt64Array, per = data.length / batch;
  return Array.from({ length: batch }, (_, b) => {
    let n = 0;
    for (let j = b * per; j < (b + 1) * per; j++) if (data[j] === m) n++;
    return n;
  });
}

/** `next` with the rows marked in `keep` replaced by the same rows of `predicted` (nothing re-masked there). */
function keepRows(next: HostTensor, predicted: HostTensor, keep: readonly boolean[]): HostTensor {
  const out = (next.data as BigInt64Array).slice(), src = predicted.data as BigInt64Array, per = out.length / keep.length;
  keep.forEach((k, b) => k && out.set(src.subarray(b * per, (b + 1) * per), b * per));
  return new HostTensor("int64", next.shape, out);
}
