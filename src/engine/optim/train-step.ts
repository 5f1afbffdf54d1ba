// One training step, compiled once. Up to TrainStepOptions.fusedUpdateMaxBytes of trained
// parameters it is one ONNX Runtime session: forward, backward (grad), gradient clipping, AdamW and
// the EMA. Above that, holding every state tensor twice costs too much (ORT cannot update an input
// in place): forward and backward write the gradients into buffers, then one small update session
// runs tensor by tensor, so beside the current state there is only one spare set per tensor shape.
// Either way ORT writes each new state tensor straight into a spare buffer of its shape and the
// buffer it replaces becomes the spare, so no JS loop ever touches a parameter element. Per-step
// scalars (lr-derived factors, EMA decay, the clip factor) are graph inputs, so the same sessions
// serve the whole schedule.

import { Graph, type Tensor } from "../graph/tensor.js";
import { HostTensor, shapeSize } from "../host-tensor.js";
import type { ParamStore } from "../params.js";
import { CompiledGraph, type SessionOptions } from "../runtime/session.js";
import { grad } from "../autodiff/grad.js";
import { mul } from "../ops/index.js";
import { CheckpointError, FeedError, fmtShape } from "../errors.js";
import { adamwStepScalars, adamwUpdate, clipGradNorm, emaUpdate, type AdamWConfig, type AdamWScalarTensors } from "./adamw.js";
import { emaDecay } from "./schedule.js";

/** Default TrainStepOptions.fusedUpdateMaxBytes: 64 MiB of float32 parameters (16.8M). */
export const DEFAULT_FUSED_UPDATE_MAX_BYTES = 64 * 2 ** 20;

export interface TrainStepOptions {
  readonly adamw: AdamWConfig;
  /** Keys to update (default: every trainable ParamSpec of the graph). Other parameters are fed, never updated. */
  readonly trainable?: readonly string[];
  /** Keep an EMA of the trained parameters with this maximum decay (official: 0.999). Omitted: no EMA. */
  readonly emaDecay?: number;
  /** Extra tensors to fetch each step (e.g. individual loss terms for logging). */
  readonly outputs?: Readonly<Record<string, Tensor>>;
  readonly session?: SessionOptions;
  /**
   * Trained-parameter bytes up to which the update runs inside the backward's session (default
   * DEFAULT_FUSED_UPDATE_MAX_BYTES). Fused, a step holds 8 parameter-sized arrays (parameter, m, v,
   * EMA, each current and next); above it, 5 (the four once, plus the gradients) and one spare set
   * per tensor shape. The two give the same numbers bit for bit.
   */
  readonly fusedUpdateMaxBytes?: number;
}

export interface StepResult {
  readonly loss: number;
  /** Global gradient L2 norm before clipping (what clip_grad_norm_ returns). */
  readonly gradNorm: number;
  /** The extra outputs requested in TrainStepOptions.outputs (fresh tensors, safe to keep). */
  readonly outputs: Record<string, HostTensor>;
}

/** Graph-input names of the per-step scalars; "optim." is reserved for them. */
const SCALARS = { decay: "optim.decay", stepSize: "optim.stepSize", bc2Sqrt: "optim.bc2Sqrt", emaRate: "optim.emaOneMinusDecay", clipCoef: "optim.clipCoef" } as const;
const STATE_KINDS = ["param", "m", "v", "ema"] as const;
type StateKind = (typeof STATE_KINDS)[number];
/** Input name of a state tensor (the parameter itself is fed under its own key). */
const stateInput = (kind: StateKind, key: string): string =>
  kind === "param" ? key : kind === "ema" ? `ema.${key}` : `optimizer.${kind}.${key}`;
const stateOutput = (kind: StateKind, key: string): string => `next.${kind}.${key}`;
const gradOutput = (key: string): string => `grad.${key}`;
/** Output names the step reserves for itself. */
const isReservedOutput = (name: string): boolean =>
  name === "loss" || name === "gradNorm" || name === "clipCoef" || name.startsWith("next.") || name.startsWith("grad.");
/** The update session's one tensor, flattened: every state tensor runs through the same session. */
const FLAT_KEY = "t";

/** Spare state buffers by shape: a step's outputs go into spares, and the buffers they replace become spares. */
class SpareBuffers {
  private readonly free = new Map<string, HostTensor[]>();
  take(like: HostTensor): HostTensor {
    return this.free.get(fmtShape(like.shape))?.pop() ?? HostTensor.zeros(like.dtype, like.shape);
  }
  give(t: HostTensor): void {
    const key = fmtShape(t.shape);
    const list = this.free.get(key);
    if (list) list.push(t);
    else this.free.set(key, [t]);
  }
}

/** The same buffer as one flat axis (what the update session takes). */
const flat = (t: HostTensor): HostTensor => t.reshape([shapeSize(t.shape)]);

/** A new state tensor and where it goes once the run that writes it has finished. */
interface Pending { readonly kind: StateKind; readonly key: string; readonly buffer: HostTensor }

/**
 * Owns the training state of one optimizer: the parameter store (shared with other trainers is fine:
 * only the trained keys are replaced), AdamW moments, EMA shadow and step counters.
 *
 * The store's tensors for trained keys are replaced by other buffers every step, and the replaced
 * ones are overwritten by the next step (with a separate update, already later in the same step):
 * clone a tensor to keep it.
 */
export class TrainState {
  /** The current value of every state tensor, by kind and key. */
  private readonly state = new Map<StateKind, Map<string, HostTensor>>();
  private readonly spares = new SpareBuffers();
  /** Gradient buffers of a separate update (undefined when fused). */
  private readonly grads: Map<string, HostTensor> | undefined;
  private steps = 0;
  private emaCount = 0;
  private readonly lossBuf = HostTensor.zeros("float32", []);
  private readonly normBuf = HostTensor.zeros("float32", []);
  private readonly coefBuf = HostTensor.zeros("float32", []);
  private readonly lossShape: readonly number[];

  private constructor(
    /** The whole step when fused, else forward + backward writing the gradients. */
    private readonly compiled: CompiledGraph,
    /** The tensor-by-tensor update session, when the update is separate. */
    private readonly update: CompiledGraph | undefined,
    readonly params: ParamStore,
    readonly trainable: readonly string[],
    private readonly cfg: TrainStepOptions,
    lossShape: readonly number[],
  ) {
    this.lossShape = lossShape;
    for (const kind of this.kinds()) this.state.set(kind, new Map());
    for (const key of trainable) {
      const p = params.get(key)!;
      // Own copies, so that the caller's arrays (e.g. a loaded checkpoint) are never overwritten.
      this.state.get("param")!.set(key, p.clone());
      this.state.get("m")!.set(key, HostTensor.zeros(p.dtype, p.shape));
      this.state.get("v")!.set(key, HostTensor.zeros(p.dtype, p.shape));
      this.state.get("ema")?.set(key, p.clone());
      params.set(key, this.state.get("param")!.get(key)!);
    }
    this.grads = update ? new Map(trainable.map((k) => [k, HostTensor.zeros("float32", params.get(k)!.shape)])) : undefined;
  }

  /**
   * Appends grad, clipping, AdamW and EMA to `loss`'s graph and compiles the whole step.
   * `params` must hold every parameter the loss reads.
   */
  static async create(loss: Tensor, params: ParamStore, opts: TrainStepOptions): Promise<TrainState> {
    const graph = loss.graph;
    const keys = opts.trainable ? [...opts.trainable] : graph.trainableKeys();
    if (loss.dtype !== "float32") throw new FeedError({ op: "TrainState.create", expected: "a float32 loss", got: `${loss}` });
    checkKeys(graph, keys, params);
    const bytes = keys.reduce((n, k) => n + 4 * shapeSize(params.get(k)!.shape), 0);
    const fused = bytes <= (opts.fusedUpdateMaxBytes ?? DEFAULT_FUSED_UPDATE_MAX_BYTES);
    const outputs = fused ? buildStepGraph(graph, loss, keys, opts) : buildGradientGraph(graph, loss, keys, opts);
    const compiled = await CompiledGraph.create(graph, outputs, opts.session);
    let update: CompiledGraph | undefined;
    if (!fused) {
      const u = buildUpdateGraph(opts);
      update = await CompiledGraph.create(u.graph, u.outputs, opts.session);
    }
    return new TrainState(compiled, update, params, keys, opts, loss.staticShape("loss"));
  }

  /** Optimizer steps taken so far (the next step is step + 1 in PyTorch's bias-correction count). */
  get step(): number { return this.steps; }
  get emaUpdates(): number { return this.emaCount; }
  /** Whether clipping, AdamW and the EMA run in the backward's session (see TrainStepOptions.fusedUpdateMaxBytes). */
  get fusedUpdate(): boolean { return this.update === undefined; }

  /**
   * Runs one step with learning rate `lr` (e.g. cosineWithMinimum(cfg, state.step), which is what the
   * official LambdaLR gives the optimizer at this step). `feeds` are the loss graph's inputs.
   */
  async run(feeds: Readonly<Record<string, HostTensor>>, lr: number): Promise<StepResult> {
    const t = this.steps + 1;
    for (const name of Object.keys(feeds)) {
      if (name.startsWith("optim.")) throw new FeedError({ op: "TrainState.run", expected: "feeds without the reserved optim. prefix", got: name });
    }
    const s = adamwStepScalars(this.cfg.adamw, lr, t);
    const scalars: Record<string, HostTensor> = {
      [SCALARS.decay]: HostTensor.scalar(s.decay), [SCALARS.stepSize]: HostTensor.scalar(s.stepSize), [SCALARS.bc2Sqrt]: HostTensor.scalar(s.bc2Sqrt),
    };
    if (this.cfg.emaDecay !== undefined) scalars[SCALARS.emaRate] = HostTensor.scalar(1 - emaDecay(this.emaCount + 1, this.cfg.emaDecay));
    for (const key of this.trainable) this.adoptStoreValue(key);
    const into: Record<string, HostTensor> = { loss: this.lossBuf.reshape(this.lossShape), gradNorm: this.normBuf };
    let out: Record<string, HostTensor>;
    if (!this.update) {
      const all: Record<string, HostTensor> = { ...feeds, ...scalars };
      const pending = this.trainable.flatMap((key) => this.stateFeeds(key, all, into));
      out = await this.compiled.run(all, this.params, into);
      this.adopt(pending);
    } else {
      for (const key of this.trainable) into[gradOutput(key)] = this.grads!.get(key)!;
      if (this.cfg.adamw.maxGradNorm !== undefined) into.clipCoef = this.coefBuf;
      out = await this.compiled.run(feeds, this.params, into);
      await this.updateEach(scalars);
    }
    this.steps = t;
    if (this.cfg.emaDecay !== undefined) this.emaCount++;
    const extras: Record<string, HostTensor> = {};
    for (const name of Object.keys(this.cfg.outputs ?? {})) extras[name] = out[name]!;
    return { loss: this.lossBuf.at(0), gradNorm: this.normBuf.at(0), outputs: extras };
  }

  /** The separate update: one run of the flat update session per trained tensor. */
  private async updateEach(scalars: Record<string, HostTensor>): Promise<void> {
    for (const key of this.trainable) {
      const all: Record<string, HostTensor> = { ...scalars, [FLAT_KEY]: flat(this.state.get("param")!.get(key)!), [gradOutput(FLAT_KEY)]: flat(this.grads!.get(key)!) };
      if (this.cfg.adamw.maxGradNorm !== undefined) all[SCALARS.clipCoef] = this.coefBuf;
      const into: Record<string, HostTensor> = {};
      const pending = this.stateFeeds(key, all, into, FLAT_KEY);
      await this.update!.run(all, undefined, into);
      this.adopt(pending);
    }
  }

  /**
   * Feeds the current m, v and EMA of `key` (under the names of the update session's flat tensor
   * when `flatAs` is given) and names a spare for every new state tensor; returns the spares.
   */
  private stateFeeds(key: string, feeds: Record<string, HostTensor>, into: Record<string, HostTensor>, flatAs?: string): Pending[] {
    const pending: Pending[] = [];
    const view = flatAs === undefined ? (t: HostTensor) => t : flat;
    for (const [kind, values] of this.state) {
      const cur = values.get(key)!;
      if (kind !== "param") feeds[stateInput(kind, flatAs ?? key)] = view(cur);
      const buffer = this.spares.take(cur);
      into[stateOutput(kind, flatAs ?? key)] = view(buffer);
      pending.push({ kind, key, buffer });
    }
    return pending;
  }

  /** The written spares become the current state; the buffers they replace become spares. */
  private adopt(pending: readonly Pending[]): void {
    for (const { kind, key, buffer } of pending) {
      const values = this.state.get(kind)!;
      this.spares.give(values.get(key)!);
      values.set(key, buffer);
      if (kind === "param") this.params.set(key, buffer);
    }
  }

  /** EMA weights of the trained keys (current buffers; clone to keep), or undefined without EMA. */
  emaParams(): Map<string, HostTensor> | undefined {
    const ema = this.state.get("ema");
    return ema && new Map(ema);
  }

  /**
   * Optimizer state for a checkpoint (the parameters themselves are the model's state dict):
   * "optimizer.step", "optimizer.m.<key>", "optimizer.v.<key>", and with EMA "ema.updates", "ema.<key>".
   * Tensors are copies.
   */
  stateDict(): Map<string, HostTensor> {
    const out = new Map<string, HostTensor>();
    out.set("optimizer.step", HostTensor.i64([this.steps], []));
    if (this.state.has("ema")) out.set("ema.updates", HostTensor.i64([this.emaCount], []));
    for (const [kind, values] of this.state) {
      if (kind === "param") continue;
      for (const [key, value] of values) out.set(stateInput(kind, key), value.clone());
    }
    return out;
  }

  /** Restores what stateDict wrote; every missing, unexpected or mis-shaped entry is reported at once. */
  loadStateDict(state: ReadonlyMap<string, HostTensor>): void {
    const expected = this.stateDict();
    const problems: string[] = [];
    for (const [name, want] of expected) {
      const got = state.get(name);
      if (!got) problems.push(`missing ${name}`);
      else if (got.dtype !== want.dtype || fmtShape(got.shape) !== fmtShape(want.shape)) {
        problems.push(`${name}: expected ${want.dtype}${fmtShape(want.shape)}, found ${got.dtype}${fmtShape(got.shape)}`);
      }
    }
    for (const name of state.keys()) if (!expected.has(name)) problems.push(`unexpected ${name}`);
    if (problems.length) {
      throw new CheckpointError({ op: "TrainState.loadStateDict", expected: `the ${expected.size} optimizer entries`, got: `${problems.length} problem(s):\n  ${problems.join("\n  ")}` });
    }
    this.steps = state.get("optimizer.step")!.at(0);
    if (this.state.has("ema")) this.emaCount = state.get("ema.updates")!.at(0);
    for (const [kind, values] of this.state) {
      if (kind === "param") continue;
      for (const [key, value] of values) (value.data as Float32Array).set(state.get(stateInput(kind, key))!.data as Float32Array);
    }
  }

  async dispose(): Promise<void> {
    await this.compiled.dispose();
    await this.update?.dispose();
  }

  /**
   * Someone replaced a trained key in the shared store (e.g. restored weights): train from that value,
   * copied into our own buffer, so an input never aliases the buffer ORT writes the update into.
   */
  private adoptStoreValue(key: string): void {
    const v = this.params.get(key), cur = this.state.get("param")!.get(key)!;
    if (v === cur) return;
    if (!v || v.dtype !== cur.dtype || fmtShape(v.shape) !== fmtShape(cur.shape)) {
      throw new FeedError({ op: "TrainState.run", scope: key, expected: `${cur.dtype}${fmtShape(cur.shape)} in the parameter store`, got: v ? `${v.dtype}${fmtShape(v.shape)}` : "nothing" });
    }
    (cur.data as Float32Array).set(v.data as Float32Array);
    this.params.set(key, cur);
  }

  private kinds(): StateKind[] {
    return STATE_KINDS.filter((k) => k !== "ema" || this.cfg.emaDecay !== undefined);
  }
}

/** loss and the extra outputs, checked against the names the step reserves. */
function lossOutputs(loss: Tensor, opts: TrainStepOptions): Record<string, Tensor> {
  const outputs: Record<string, Tensor> = { loss };
  for (const [name, t] of Object.entries(opts.outputs ?? {})) {
    if (isReservedOutput(name)) throw new FeedError({ op: "TrainState", expected: "extra output names other than loss, gradNorm, clipCoef, next.*, grad.*", got: name });
    outputs[name] = t;
  }
  return outputs;
}

/** The per-step scalar inputs of a graph (created once per graph). */
function scalarInputs(graph: Graph, opts: TrainStepOptions): { s: AdamWScalarTensors; emaRate?: Tensor } {
  const scalar = (name: string) => graph.inputs.get(name) ?? graph.input(name, "float32", []);
  const s = { decay: scalar(SCALARS.decay), stepSize: scalar(SCALARS.stepSize), bc2Sqrt: scalar(SCALARS.bc2Sqrt) };
  return opts.emaDecay !== undefined ? { s, emaRate: scalar(SCALARS.emaRate) } : { s };
}

/** AdamW and the EMA of one parameter `p` (named `key`) with its clipped gradient: the next.* outputs. */
function updateOutputs(key: string, p: Tensor, g: Tensor, opts: TrainStepOptions, outputs: Record<string, Tensor>): void {
  const graph = p.graph;
  const { s, emaRate } = scalarInputs(graph, opts);
  const state = (kind: "m" | "v" | "ema") => graph.input(stateInput(kind, key), p.dtype, p.shape);
  const next = adamwUpdate({ param: p, m: state("m"), v: state("v") }, g, s, opts.adamw);
  outputs[stateOutput("param", key)] = next.param;
  outputs[stateOutput("m", key)] = next.m;
  outputs[stateOutput("v", key)] = next.v;
  if (emaRate) outputs[stateOutput("ema", key)] = emaUpdate(state("ema"), next.param, emaRate);
}

/** The fused step's outputs: loss, gradNorm, extras, and next.{param,m,v,ema}.<key> per trained key. */
export function buildStepGraph(graph: Graph, loss: Tensor, keys: readonly string[], opts: TrainStepOptions): Record<string, Tensor> {
  const params = keys.map((k) => graph.params.get(k)!);
  const outputs = lossOutputs(loss, opts);
  const grads = grad(loss, params);
  graph.scope("optim", () => {
    const clipped = clipGradNorm(grads, opts.adamw.maxGradNorm);
    outputs.gradNorm = clipped.norm;
    keys.forEach((key, i) => updateOutputs(key, params[i]!, clipped.grads[i]!, opts, outputs));
  });
  return outputs;
}

/** Forward and backward of a separate update: loss, gradNorm, clipCoef (with clipping), extras and grad.<key>. */
function buildGradientGraph(graph: Graph, loss: Tensor, keys: readonly string[], opts: TrainStepOptions): Record<string, Tensor> {
  const outputs = lossOutputs(loss, opts);
  const grads = grad(loss, keys.map((k) => graph.params.get(k)!));
  graph.scope("optim", () => {
    const clipped = clipGradNorm(grads, opts.adamw.maxGradNorm);
    outputs.gradNorm = clipped.norm;
    if (clipped.coef) outputs.clipCoef = clipped.coef;
  });
  keys.forEach((key, i) => (outputs[gradOutput(key)] = grads[i]!));
  return outputs;
}

/**
 * The separate update of one flat state tensor of any length: the fused step's arithmetic on
 * the unclipped gradient times the fed clip factor, so both give the same bits.
 */
function buildUpdateGraph(opts: TrainStepOptions): { graph: Graph; outputs: Record<string, Tensor> } {
  const graph = new Graph();
  const p = graph.input(FLAT_KEY, "float32", ["N"]);
  const g = graph.input(gradOutput(FLAT_KEY), "float32", ["N"]);
  const clipped = opts.adamw.maxGradNorm !== undefined ? mul(g, graph.input(SCALARS.clipCoef, "float32", [])) : g;
  const outputs: Record<string, Tensor> = {};
  updateOutputs(FLAT_KEY, p, clipped, opts, outputs);
  return { graph, outputs };
}

function checkKeys(graph: Graph, keys: readonly string[], params: ParamStore): void {
  const problems: string[] = [];
  for (const key of keys) {
    const spec = graph.paramSpecs.get(key);
    if (!spec) problems.push(`${key}: not a parameter of the graph`);
    else if (!spec.trainable) problems.push(`${key}: a buffer (trainable: false)`);
    else if (spec.dtype !== "float32") problems.push(`${key}: ${spec.dtype} (only float32 is trained)`);
    else if (!params.get(key)) problems.push(`${key}: no value in the parameter store`);
    else if (fmtShape(params.get(key)!.shape) !== fmtShape(spec.shape)) problems.push(`${key}: store has ${fmtShape(params.get(key)!.shape)}, graph ${fmtShape(spec.shape)}`);
  }
  if (keys.length === 0) problems.push("no trainable parameters");
  if (problems.length) throw new FeedError({ op: "TrainState.create", expected: "trainable float32 parameters with values", got: problems.join("; ") });
}
