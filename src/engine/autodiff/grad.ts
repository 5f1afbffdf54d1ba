// Reverse-mode differentiation over a graph. `grad` appends the backward nodes to the same graph
// and returns symbolic gradients, so the forward and backward compile into one ONNX model.
// Only nodes on a path from `wrt` to the loss are differentiated; anything else (a frozen
// discriminator's weights, integer ids) gets no backward nodes at all.

import type { Node, Tensor } from "../graph/tensor.js";
import { isFloat } from "../graph/dtype.js";
import { MissingRuleError, ShapeError, fmtShape } from "../errors.js";
import { add } from "../ops/binary.js";
import { onesLike, zerosLike } from "../ops/cast.js";

export interface GradOptions {
  /** Cotangent of `y` (default: ones, which for a scalar loss is dL/dL = 1). */
  readonly seed?: Tensor;
}

export function grad(y: Tensor, wrt: readonly Tensor[], opts: GradOptions = {}): Tensor[] {
  const graph = y.graph;
  if (!isFloat(y.dtype)) throw new ShapeError({ op: "grad", expected: "a floating-point output", got: `${y}` });
  if (!opts.seed && y.shape.some((d) => d !== 1)) {
    throw new ShapeError({ op: "grad", expected: "a scalar loss (or an explicit seed cotangent)", got: `${y}` });
  }
  for (const w of wrt) {
    if (w.graph !== graph) throw new ShapeError({ op: "grad", expected: "wrt tensors of the loss's graph", got: `${w} of another graph` });
  }

  // Forward pass: which tensors depend on any wrt tensor.
  const active = new Set<number>(wrt.map((w) => w.id));
  const nodes: Node[] = [];
  for (const node of graph.nodes) {
    if (node.id > lastNodeId(y)) break;
    if (node.inputs.some((t) => active.has(t.id))) {
      for (const o of node.outputs) if (isFloat(o.dtype)) active.add(o.id);
      nodes.push(node);
    }
  }

  const cot = new Map<number, Tensor>();
  cot.set(y.id, opts.seed ?? onesLike(y));
  const accumulate = (t: Tensor, g: Tensor) => {
    if (g.rank !== t.rank || g.shape.some((d, i) => typeof d === "number" && typeof t.shape[i] === "number" && d !== t.shape[i])) {
      throw new ShapeError({ op: "grad", scope: producerLabel(t), expected: `a cotangent shaped ${fmtShape(t.shape)}`, got: fmtShape(g.shape), hint: "a VJP rule returned the wrong shape" });
    }
    const prev = cot.get(t.id);
    cot.set(t.id, prev ? add(prev, g) : g);
  };

  graph.scope("grad", () => {
    for (let k = nodes.length - 1; k >= 0; k--) {
      const node = nodes[k]!;
      const gs = node.outputs.map((o) => cot.get(o.id) ?? null);
      if (gs.every((g) => g === null)) continue;
      const rule = node.op.vjp;
      if (rule === "none") continue;
      if (!rule) {
        throw new MissingRuleError({ op: node.op.name, scope: node.scope, expected: "a VJP rule", got: "none" });
      }
      const gin = rule({ g: gs, inputs: node.inputs, outputs: node.outputs, attrs: node.attrs });
      if (gin.length !== node.inputs.length) {
        throw new MissingRuleError({ op: node.op.name, scope: node.scope, expected: `${node.inputs.length} cotangents from the VJP`, got: `${gin.length}` });
      }
      gin.forEach((g, i) => {
        const input = node.inputs[i]!;
        if (g && active.has(input.id)) accumulate(input, g);
      });
    }
  });

  return wrt.map((w) => cot.get(w.id) ?? zerosLike(w));
}

/** The loss and its gradients, ready to compile together. */
export function valueAndGrad(y: Tensor, wrt: readonly Tensor[], opts: GradOptions = {}): { value: Tensor; grads: Tensor[] } {
  return { value: y, grads: grad(y, wrt, opts) };
}

function lastNodeId(t: Tensor): number {
  return t.source.kind === "node" ? t.source.node.id : -1;
}

function producerLabel(t: Tensor): string {
  return t.source.kind === "node" ? `${t.source.node.scope}/${t.source.node.op.name}` : t.source.kind;
}
