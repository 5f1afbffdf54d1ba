// Graph -> ONNX ModelProto. Only the nodes the requested outputs depend on are emitted;
// graph inputs and parameters become model inputs (parameters are fed, never baked, so that
// training can update them), constants become initializers.

import { encodeModel, type ValueInfoProto } from "./proto.js";
import { Emitter, tensorProto } from "./emitter.js";
import { onnxDTypeCode, type DType } from "../graph/dtype.js";
import type { Graph, Node, Shape, Tensor } from "../graph/tensor.js";
import { FeedError } from "../errors.js";

export const OPSET = 21;
export const IR_VERSION = 10;

export interface ExportedModel {
  readonly bytes: Uint8Array;
  /** Model inputs in order, with where their values come from. */
  readonly inputs: readonly { readonly name: string; readonly kind: "input" | "param"; readonly dtype: DType; readonly shape: Shape }[];
  readonly outputs: readonly { readonly name: string; readonly dtype: DType; readonly shape: Shape }[];
}

function valueInfo(name: string, dtype: DType, shape: Shape): ValueInfoProto {
  return { name, elemType: onnxDTypeCode[dtype], shape };
}

/** Nodes needed for `targets`, in topological (creation) order. */
export function neededNodes(targets: readonly Tensor[]): Node[] {
  const seen = new Set<number>();
  const stack = targets.map((t) => t);
  const nodes: Node[] = [];
  while (stack.length) {
    const t = stack.pop()!;
    if (t.source.kind !== "node") continue;
    const node = t.source.node;
    if (seen.has(node.id)) continue;
    seen.add(node.id);
    nodes.push(node);
    stack.push(...node.inputs);
  }
  return nodes.sort((a, b) => a.id - b.id);
}

export function exportModel(graph: Graph, outputs: Readonly<Record<string, Tensor>>, opts: { name?: string } = {}): ExportedModel {
  const e = new Emitter();
  const names = new Map<number, string>();
  const modelInputs: { name: string; kind: "input" | "param"; dtype: DType; shape: Shape }[] = [];
  const outTensors = Object.values(outputs);
  for (const t of outTensors) {
    if (t.graph !== graph) throw new FeedError({ op: "exportModel", expected: "outputs of the exported graph", got: "a tensor of another graph" });
  }

  const nameOf = (t: Tensor): string => {
    const known = names.get(t.id);
    if (known) return known;
    let name: string;
    switch (t.source.kind) {
      case "input":
        name = t.source.name;
        modelInputs.push({ name, kind: "input", dtype: t.dtype, shape: t.shape });
        break;
      case "param":
        name = t.source.key;
        modelInputs.push({ name, kind: "param", dtype: t.dtype, shape: t.shape });
        break;
      case "constant":
        name = `const_${t.id}`;
        e.initializers.push(tensorProto(name, t.source.value));
        break;
      case "node":
        name = `t${t.id}`;
        break;
    }
    names.set(t.id, name);
    return name;
  };

  // A node output requested once is written under its output name directly: an Identity copy
  // per output would cost a full pass over every parameter-sized tensor of a training step.
  const requests = new Map<number, number>();
  for (const t of outTensors) requests.set(t.id, (requests.get(t.id) ?? 0) + 1);
  for (const [key, t] of Object.entries(outputs)) {
    if (t.source.kind === "node" && requests.get(t.id) === 1) names.set(t.id, key);
  }

  for (const node of neededNodes(outTensors)) {
    const inputs = node.inputs.map(nameOf);
    const outs = node.outputs.map(nameOf);
    const before = e.nodes.length;
    node.op.onnx(e, { inputs, outputs: outs, attrs: node.attrs, node });
    const label = `${node.scope ? node.scope + "/" : ""}${node.op.name}#${node.id}`;
    for (let i = before; i < e.nodes.length; i++) e.nodes[i]!.name = `${label}/${e.nodes[i]!.opType}${i - before}`;
  }

  const outInfos = Object.entries(outputs).map(([key, t]) => {
    if (nameOf(t) !== key) e.node("Identity", [nameOf(t)], {}, { outputs: [key], name: `output/${key}` });
    return { name: key, dtype: t.dtype, shape: t.shape };
  });

  // Only the domains some node uses are imported: an unused opset import is an error for strict checkers.
  const domains = new Set(e.nodes.map((n) => n.domain).filter((d) => d !== ""));
  const bytes = encodeModel({
    irVersion: IR_VERSION,
    producerName: "maskbit",
    opsetImport: [{ domain: "", version: OPSET }, ...[...domains].sort().map((domain) => ({ domain, version: 1 }))],
    graph: {
      name: opts.name ?? "maskbit",
      node: e.nodes,
      initializer: e.initializers,
      input: modelInputs.map((i) => valueInfo(i.name, i.dtype, i.shape)),
      output: outInfos.map((o) => valueInfo(o.name, o.dtype, o.shape)),
    },
  });
  return { bytes, inputs: modelInputs, outputs: outInfos };
}
