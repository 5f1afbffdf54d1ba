// Collects ONNX nodes and initializers while a graph is exported. Ops call `node` with the ONNX
// op type; nowhere else in maskbit do ONNX op type strings appear.

import { AttributeType as AT, type AttributeProto, type NodeProto, type TensorProto } from "./proto.js";
import { onnxDTypeCode, type DType } from "../graph/dtype.js";
import { HostTensor } from "../host-tensor.js";

export type Attr =
  | { readonly kind: "int"; readonly value: number }
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "ints"; readonly value: readonly number[] }
  | { readonly kind: "floats"; readonly value: readonly number[] }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "tensor"; readonly value: HostTensor };

export const attr = {
  int: (value: number): Attr => ({ kind: "int", value }),
  float: (value: number): Attr => ({ kind: "float", value }),
  ints: (value: readonly number[]): Attr => ({ kind: "ints", value }),
  floats: (value: readonly number[]): Attr => ({ kind: "floats", value }),
  string: (value: string): Attr => ({ kind: "string", value }),
  tensor: (value: HostTensor): Attr => ({ kind: "tensor", value }),
};

function encodeAttr(name: string, a: Attr): AttributeProto {
  switch (a.kind) {
    case "int": return { name, type: AT.INT, i: a.value };
    case "float": return { name, type: AT.FLOAT, f: a.value };
    case "ints": return { name, type: AT.INTS, ints: [...a.value] };
    case "floats": return { name, type: AT.FLOATS, floats: [...a.value] };
    case "string": return { name, type: AT.STRING, s: new TextEncoder().encode(a.value) };
    case "tensor": return { name, type: AT.TENSOR, t: tensorProto("", a.value) };
  }
}

export function tensorProto(name: string, t: HostTensor): TensorProto {
  const d = t.data;
  return {
    name,
    dataType: onnxDTypeCode[t.dtype],
    dims: [...t.shape],
    rawData: new Uint8Array(d.buffer, d.byteOffset, d.byteLength),
  };
}

export class Emitter {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private counter = 0;
  private readonly i64Cache = new Map<string, string>();

  constructor(private readonly prefix = "") {}

  fresh(hint: string): string {
    return `${this.prefix}${hint}__${this.counter++}`;
  }

  /**
   * Appends one ONNX node. `outputs` are names to write (or a count of fresh names to make);
   * returns the output names.
   */
  node(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, opts: { outputs?: readonly string[] | number; domain?: string; name?: string } = {}): string[] {
    const outs = typeof opts.outputs === "object" ? [...opts.outputs] : Array.from({ length: opts.outputs ?? 1 }, () => this.fresh(opType));
    this.nodes.push({
      opType,
      domain: opts.domain ?? "",
      name: opts.name ?? this.fresh(`${opType}_node`),
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => encodeAttr(k, v)),
    });
    return outs;
  }

  /** One output: the common case. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, out?: string): string {
    return this.node(opType, inputs, attrs, out ? { outputs: [out] } : {})[0]!;
  }

  initializer(value: HostTensor, hint = "const"): string {
    const name = this.fresh(hint);
    this.initializers.push(tensorProto(name, value));
    return name;
  }

  /** A cached 1-D int64 initializer, e.g. axes or a target shape. */
  i64s(values: readonly number[]): string {
    const key = values.join(",");
    let name = this.i64Cache.get(key);
    if (!name) {
      name = this.initializer(HostTensor.i64(values), "i64");
      this.i64Cache.set(key, name);
    }
    return name;
  }

  scalar(value: number, dtype: DType): string {
    return this.initializer(HostTensor.scalar(value, dtype), "scalar");
  }
}
