// One training step as one ONNX Runtime session: forward, backward (grad), gradient clipping, AdamW
// and the EMA, compiled once. The host keeps two buffers per state tensor (current and next): each
// step feeds the current ones, ORT writes the results straight into the next ones, and the two are
// swapped, so no JS loop ever touches a parameter element. Per-step scalars (lr-derived factors, EMA
// decay) are graph inputs, so the same session serves the whole schedule.

import type { Graph, Tensor } from "../graph/tensor.js";
import { HostTensor } from "../host-tensor.js";
import type { ParamStore } from "../params.js";
import { CompiledGraph, type SessionOptions } from "../runtime/session.js";
import { grad } from "../autodiff/grad.js";
import { CheckpointError, FeedError, fmtShape } from "../errors.js";
import { adamwStepScalars, adamwUpdate, clipGradNorm, emaUpdate, type AdamWConfig } from "./adamw.js";
import { emaDecay } from "./schedule.js";

export interface TrainStepOptions {
  readonly adamw: AdamWConfig;
  /** Keys to update (default: every trainable ParamSpec of the graph). Other parameters are fed, never updated. */
  readonly trainable?: readonly string[];
  /** Keep an EMA of the trained parameters with this maximum decay (official: 0.999). Omitted: no EMA. */
  readonly emaDecay?: number;
  /** Extra tensors to fetch each step (e.g. individual loss terms for logging). */
  readonly outputs?: Readonly<Record<string, Tensor>>;
  readonly session?: SessionOptions;
}

export interface StepResult {
  readonly loss: number;
  /** Global gradient L2 norm before clipping (what clip_grad_norm_ returns). */
  readonly gradNorm: number;
  /** The extra outputs requested in TrainStepOptions.outputs (fresh tensors, safe to keep). */
  readonly outputs: Record<string, HostTensor>;
}

/** Graph-input names of the per-step scalars; "optim." is reserved for them. */
const SCALARS = { decay: "optim.decay", stepSize: "optim.stepSize", bc2Sqrt: "optim.bc2Sqrt", emaRate: "optim.emaOneMinusDecay" } as const;
const STATE_KINDS = ["param", "m", "v", "ema"] as const;
type StateKind = (typeof STATE_KINDS)[number];
/** Input name of a state tensor (the parameter itself is fed under its own key). */
const stateInput = (kind: StateKind, key: string): string =>
  kind === "param" ? key : kind === "ema" ? `ema.${key}` : `optimizer.${kind}.${key}`;
const stateOutput = (kind: StateKind, key: string): string => `next.${kind}.${key}`;

/** Current and next buffer of one state tensor. */
interface Slot { cur: HostTensor; next: HostTensor }

/**
 * Owns the training state of one optimizer: the parameter store (shared with other trainers is fine:
 * only the trained keys are replaced), AdamW moments, EMA shadow and step counters.
 *
 * The store's tensors for trained keys are replaced by fresh buffers every step, and the previous
 * ones are reused two steps later: clone a tensor to keep it.
 */
export class TrainState {
  private readonly slots = new Map<StateKind, Map<string, Slot>>();
  private steps = 0;
  private emaCount = 0;
  private readonly lossBuf = HostTensor.zeros("float32", []);
  private readonly normBuf = HostTensor.zeros("float32", []);
  private readonly lossShape: readonly number[];

  private constructor(
    private readonly compiled: CompiledGraph,
    readonly params: ParamStore,
    readonly trainable: readonly string[],
    private readonly cfg: TrainStepOptions,
    lossShape: readonly number[],
  ) {
    this.lossShape = lossShape;
    for (const kind of this.kinds()) this.slots.set(kind, new Map());
    for (const key of trainable) {
      const p = params.get(key)!;
      // Own copies, so that the caller's arrays (e.g. a loaded checkpoint) are never overwritten.
      const fresh = (v: HostTensor) => ({ cur: v, next: HostTensor.zeros(p.dtype, p.shape) });
      this.slots.get("param")!.set(key, fresh(p.clone()));
      this.slots.get("m")!.set(key, fresh(HostTensor.zeros(p.dtype, p.shape)));
      this.slots.get("v")!.set(key, fresh(HostTensor.zeros(p.dtype, p.shape)));
      this.slots.get("ema")?.set(key, fresh(p.clone()));
      params.set(key, this.slots.get("param")!.get(key)!.cur);
    }
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
    const outputs = buildStepGraph(graph, loss, keys, opts);
    const compiled = await CompiledGraph.create(graph, outputs, opts.session);
    return new TrainState(compiled, params, keys, opts, loss.staticShape("loss"));
  }

  /** Optimizer steps taken so far (the next step is step + 1 in PyTorch's bias-correction count). */
  get step(): number { return this.steps; }
  get emaUpdates(): number { return this.emaCount; }

  /**
   * Runs one step with learning rate `lr` (e.g. cosineWithMinimum(cfg, state.step), which is what the
   * official LambdaLR gives the optimizer at this step). `feeds` are the loss graph's inputs.
   */
  async run(feeds: Readonly<Record<string, HostTensor>>, lr: number): Promise<StepResult> {
    const t = this.steps + 1;
    const s = adamwStepScalars(this.cfg.adamw, lr, t);
    const all: Record<string, HostTensor> = { ...feeds };
    for (const name of Object.keys(feeds)) {
      if (name.startsWith("optim.")) throw new FeedError({ op: "TrainState.run", expected: "feeds without the reserved optim. prefix", got: name });
    }
    all[SCALARS.decay] = HostTensor.scalar(s.decay);
    all[SCALARS.stepSize] = HostTensor.scalar(s.stepSize);
    all[SCALARS.bc2Sqrt] = HostTensor.scalar(s.bc2Sqrt);
    if (this.cfg.emaDecay !== undefined) all[SCALARS.emaRate] = HostTensor.scalar(1 - emaDecay(this.emaCount + 1, this.cfg.emaDecay));
    const into: Record<string, HostTensor> = { loss: this.lossBuf.reshape(this.lossShape), gradNorm: this.normBuf };
    for (const [kind, slots] of this.slots) {
      for (const [key, slot] of slots) {
        if (kind === "param") this.adoptStoreValue(key, slot);
        else all[stateInput(kind, key)] = slot.cur;
        into[stateOutput(kind, key)] = slot.next;
      }
    }
    const out = await this.compiled.run(all, this.params, into);
    for (const [kind, slots] of this.slots) {
      for (const [key, slot] of slots) {
        [slot.cur, slot.next] = [slot.next, slot.cur];
        if (kind === "param") this.params.set(key, slot.cur);
      }
    }
    this.steps = t;
    if (this.cfg.emaDecay !== undefined) this.emaCount++;
    const extras: Record<string, HostTensor> = {};
    for (const name of Object.keys(this.cfg.outputs ?? {})) extras[name] = out[name]!;
    return { loss: this.lossBuf.at(0), gradNorm: this.normBuf.at(0), outputs: extras };
  }

  /** EMA weights of the trained keys (current buffers; clone to keep), or undefined without EMA. */
  emaParams(): Map<string, HostTensor> | undefined {
    const ema = this.slots.get("ema");
    return ema && new Map([...ema].map(([k, s]) => [k, s.cur]));
  }

  /**
   * Optimizer state for a checkpoint (the parameters themselves are the model's state dict):
   * "optimizer.step", "optimizer.m.<key>", "optimizer.v.<key>", and with EMA "ema.updates", "ema.<key>".
   * Tensors are copies.
   */
  stateDict(): Map<string, HostTensor> {
    const out = new Map<string, HostTensor>();
    out.set("optimizer.step", HostTensor.i64([this.steps], []));
    if (this.slots.has("ema")) out.set("ema.updates", HostTensor.i64([this.emaCount], []));
    for (const [kind, slots] of this.slots) {
      if (kind === "param") continue;
      for (const [key, slot] of slots) out.set(stateInput(kind, key), slot.cur.clone());
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
    if (this.slots.has("ema")) this.emaCount = state.get("ema.updates")!.at(0);
    for (const [kind, slots] of this.slots) {
      if (kind === "param") continue;
      for (const [key, slot] of slots) (slot.cur.data as Float32Array).set(state.get(stateInput(kind, key))!.data as Float32Array);
    }
  }

  async dispose(): Promise<void> {
    await this.compiled.dispose();
  }

  /**
   * Someone replaced a trained key in the shared store (e.g. restored weights): train from that value,
   * copied into our own buffer, so an input never aliases the buffer ORT writes the update into.
   */
  private adoptStoreValue(key: string, slot: Slot): void {
    const v = this.params.get(key);
    if (v === slot.cur) return;
    if (!v || v.dtype !== slot.cur.dtype || fmtShape(v.shape) !== fmtShape(slot.cur.shape)) {
      throw new FeedError({ op: "TrainState.run", scope: key, expected: `${slot.cur.dtype}${fmtShape(slot.cur.shape)} in the parameter store`, got: v ? `${v.dtype}${fmtShape(v.shape)}` : "nothing" });
    }
    (slot.cur.data as Float32Array).set(v.data as Float32Array);
    this.params.set(key, slot.cur);
  }

  private kinds(): StateKind[] {
    return STATE_KINDS.filter((k) => k !== "ema" || this.cfg.emaDecay !== undefined);
  }
}

/** The step's outputs: loss, gradNorm, extras, and next.{param,m,v,ema}.<key> per trained key. */
export function buildStepGraph(graph: Graph, loss: Tensor, keys: readonly string[], opts: TrainStepOptions): Record<string, Tensor> {
  const params = keys.map((k) => graph.params.get(k)!);
  const outputs: Record<string, Tensor> = { loss };
  for (const [name, t] of Object.entries(opts.outputs ?? {})) {
    if (name === "loss" || name === "gradNorm" || name.startsWith("next.")) {
      throw new FeedError({ op: "TrainState", expected: "extra output names other than loss, gradNorm, next.*", got: name });
    }
    outputs[name] = t;
  }
  const grads = grad(loss, params);
  graph.scope("optim", () => {
    const clipped = clipGradNorm(grads, opts.adamw.maxGradNorm);
    outputs.gradNorm = clipped.norm;
    const scalar = (name: string) => graph.inputs.get(name) ?? graph.input(name, "float32", []);
    const s = { decay: scalar(SCALARS.decay), stepSize: scalar(SCALARS.stepSize), bc2Sqrt: scalar(SCALARS.bc2Sqrt) };
    const emaRate = opts.emaDecay !== undefined ? scalar(SCALARS.emaRate) : undefined;
    keys.forEach((key, i) => {
      const p = params[i]!;
      const state = (kind: "m" | "v" | "ema") => graph.input(stateInput(kind, key), p.dtype, p.shape);
      const next = adamwUpdate({ param: p, m: state("m"), v: state("v") }, clipped.grads[i]!, s, opts.adamw);
      outputs[stateOutput("param", key)] = next.param;
      outputs[stateOutput("m", key)] = next.m;
      outputs[stateOutput("v", key)] = next.v;
      if (emaRate) outputs[stateOutput("ema", key)] = emaUpdate(state("ema"), next.param, emaRate);
    });
  });
  return outputs;
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
