// The symbolic graph: tensors (dtype + static shape, a dimension may be a named symbol such as
// "B"), the nodes that produce them, graph inputs, parameters keyed by state-dict names, and
// baked constants. Ops find their graph through their operands, so there is no global state.

import type { ReducedWeights } from "../quant/weights.js";
import type { DType } from "./dtype.js";
import { HostTensor } from "../host-tensor.js";
import type { OpDef } from "../ops/define-op.js";
import { FeedError, ShapeError, fmtShape } from "../errors.js";

export type Dim = number | string;
export type Shape = readonly Dim[];

export interface Node {
  readonly id: number;
  readonly op: OpDef<any>;
  readonly inputs: readonly Tensor[];
  readonly attrs: unknown;
  readonly outputs: Tensor[];
  readonly scope: string;
}

export type Source =
  | { readonly kind: "node"; readonly node: Node; readonly index: number }
  | { readonly kind: "input"; readonly name: string }
  | { readonly kind: "param"; readonly key: string }
  | { readonly kind: "constant"; readonly value: HostTensor };

export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly source: Source,
  ) {}

  get rank(): number { return this.shape.length; }

  /** Shape as numbers; throws if a dimension is symbolic. */
  staticShape(what = "tensor"): number[] {
    return this.shape.map((d) => {
      if (typeof d !== "number") {
        throw new ShapeError({ op: what, expected: "a static shape", got: fmtShape(this.shape) });
      }
      return d;
    });
  }

  toString(): string { return `${this.dtype}${fmtShape(this.shape)}`; }
}

/** How a parameter is initialised when training from scratch (PyTorch-compatible recipes). */
export type Init =
  | { readonly kind: "uniform"; readonly bound: number }
  | { readonly kind: "normal"; readonly std: number; readonly truncate?: number }
  | { readonly kind: "constant"; readonly value: number }
  | { readonly kind: "value"; readonly value: () => HostTensor };

export interface ParamSpec {
  readonly key: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly init: Init;
  /** Buffers (fixed tables that live in the state dict) are fed like parameters but never trained. */
  readonly trainable: boolean;
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs = new Map<string, Tensor>();
  readonly params = new Map<string, Tensor>();
  readonly paramSpecs = new Map<string, ParamSpec>();
  private readonly scopes: string[] = [];
  private nextId = 0;
  private readonly scalarCache = new Map<string, Tensor>();
  private frozenDepth = 0;
  /**
   * Inference in reduced precision: linear layers (engine/nn linear and attention projections)
   * whose weight key this source knows multiply by its baked fp16/int8 copy instead of the fed
   * float32 parameter. Set before building the model; unset (the default) means fp32.
   */
  reducedWeights: ReducedWeights | undefined = undefined;

  /** Current scope path, e.g. "decoder.up.2.res_blocks.0". */
  get scopePath(): string { return this.scopes.join("."); }

  scope<T>(name: string | number, fn: () => T): T {
    this.scopes.push(String(name));
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  /**
   * Runs `build` with parameter declaration frozen: weights it declares first are fed like any
   * parameter but are not trainable (a frozen perceptual net, the discriminator seen from the
   * generator's step). Gradients still flow through them into their inputs.
   */
  frozen<T>(build: () => T): T {
    this.frozenDepth++;
    try {
      return build();
    } finally {
      this.frozenDepth--;
    }
  }

  input(name: string, dtype: DType, shape: Shape): Tensor {
    if (this.inputs.has(name)) throw new FeedError({ op: "Graph.input", expected: "a new input name", got: `duplicate "${name}"` });
    const t = new Tensor(this, this.nextId++, dtype, shape, { kind: "input", name });
    this.inputs.set(name, t);
    return t;
  }

  /** A parameter named `<scope>.<name>`; declaring the same key twice returns the same tensor (weight sharing). */
  param(name: string, shape: readonly number[], init: Init, opts: { dtype?: DType; trainable?: boolean } = {}): Tensor {
    const key = this.scopePath ? `${this.scopePath}.${name}` : name;
    const dtype = opts.dtype ?? "float32";
    const existing = this.params.get(key);
    if (existing) {
      if (fmtShape(existing.shape) !== fmtShape(shape) || existing.dtype !== dtype) {
        throw new ShapeError({ op: "Graph.param", scope: key, expected: `${existing}`, got: `${dtype}${fmtShape(shape)}` });
      }
      return existing;
    }
    const t = new Tensor(this, this.nextId++, dtype, shape, { kind: "param", key });
    this.params.set(key, t);
    this.paramSpecs.set(key, { key, dtype, shape, init, trainable: (opts.trainable ?? true) && this.frozenDepth === 0 });
    return t;
  }

  constant(value: HostTensor): Tensor {
    return new Tensor(this, this.nextId++, value.dtype, value.shape, { kind: "constant", value });
  }

  /** A cached scalar constant of the given dtype (shape []). */
  scalar(value: number, dtype: DType = "float32"): Tensor {
    const key = `${dtype}:${Object.is(value, -0) ? "-0" : value}`;
    let t = this.scalarCache.get(key);
    if (!t) {
      t = this.constant(HostTensor.scalar(value, dtype));
      this.scalarCache.set(key, t);
    }
    return t;
  }

  /** Used by defineOp: records a node and creates its output tensors. */
  addNode(op: OpDef<any>, inputs: readonly Tensor[], attrs: unknown, outs: readonly { dtype: DType; shape: Shape }[]): Node {
    const node: Node = { id: this.nodes.length, op, inputs, attrs, outputs: [], scope: this.scopePath };
    outs.forEach((o, index) => node.outputs.push(new Tensor(this, this.nextId++, o.dtype, o.shape, { kind: "node", node, index })));
    this.nodes.push(node);
    return node;
  }

  trainableKeys(): string[] {
    return [...this.paramSpecs.values()].filter((s) => s.trainable).map((s) => s.key);
  }
}

