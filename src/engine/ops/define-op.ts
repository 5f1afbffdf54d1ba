// An op is one paragraph: its shape rule, its ONNX emission and its vector-Jacobian product,
// side by side. defineOp registers the definition by name (the registry is the only
// module-level mutable state in the engine) and returns the function that records nodes.

import type { Node, Shape, Tensor } from "../graph/tensor.js";
import type { DType } from "../graph/dtype.js";
import type { Emitter } from "../onnx/emitter.js";
import { ConfigError, DTypeError, ShapeError } from "../errors.js";

export interface OutSpec {
  readonly dtype: DType;
  readonly shape: Shape;
}

/** What a shape rule sees: the operands, the attributes and a way to fail with the op's name. */
export interface InferContext {
  readonly op: string;
  readonly scope: string;
  shapeError(expected: string, got: string, hint?: string): never;
  dtypeError(expected: string, got: string): never;
}

export interface VjpArgs<A> {
  /** Cotangent of each output (null where no gradient flows into that output). */
  readonly g: readonly (Tensor | null)[];
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  readonly attrs: A;
}

export interface EmitArgs<A> {
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: A;
  readonly node: Node;
}

export interface OpDef<A> {
  readonly name: string;
  /** Output dtypes and shapes; throws a ShapeError or DTypeError naming the op. */
  infer(inputs: readonly Tensor[], attrs: A, ctx: InferContext): OutSpec[];
  /** Appends the ONNX nodes computing this op, writing exactly `outputs`. */
  onnx(e: Emitter, args: EmitArgs<A>): void;
  /** One cotangent (or null: no gradient) per input; "none" marks an op with no gradient at all. */
  vjp: ((args: VjpArgs<A>) => (Tensor | null)[]) | "none";
}

const registry = new Map<string, OpDef<any>>();

export function registeredOps(): ReadonlyMap<string, OpDef<any>> {
  return registry;
}

export type Apply<A> = (inputs: readonly Tensor[], attrs: A) => Tensor[];

export function defineOp<A>(def: OpDef<A>): Apply<A> {
  if (registry.has(def.name)) throw new ConfigError({ op: "defineOp", scope: def.name, expected: "each op defined once", got: "a second definition" });
  registry.set(def.name, def);
  return (inputs, attrs) => {
    const graph = inputs[0]?.graph;
    if (!graph) throw new ShapeError({ op: def.name, expected: "at least one operand", got: "none" });
    for (const t of inputs) {
      if (t.graph !== graph) throw new ShapeError({ op: def.name, scope: graph.scopePath, expected: "operands from one graph", got: "tensors of two graphs" });
    }
    const scope = graph.scopePath;
    const ctx: InferContext = {
      op: def.name,
      scope,
      shapeError: (expected, got, hint) => { throw new ShapeError({ op: def.name, scope, expected, got, hint }); },
      dtypeError: (expected, got) => { throw new DTypeError({ op: def.name, scope, expected, got }); },
    };
    const outs = def.infer(inputs, attrs, ctx);
    return graph.addNode(def, inputs, attrs, outs).outputs;
  };
}

/** Fails unless every operand has one of the given dtypes and all share the same one. */
export function sameDType(ctx: InferContext, ts: readonly Tensor[], allowed: readonly DType[]): DType {
  const d = ts[0]!.dtype;
  for (const t of ts) {
    if (t.dtype !== d) ctx.dtypeError(`operands of one dtype`, ts.map((x) => x.dtype).join(" and "));
    if (!allowed.includes(t.dtype)) ctx.dtypeError(`one of ${allowed.join(", ")}`, t.dtype);
  }
  return d;
}
