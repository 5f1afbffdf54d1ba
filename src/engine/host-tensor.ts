// A concrete array on the host: what feeds a graph, what a run returns, what checkpoints hold.

import { allocHostArray, type DType, type HostArray } from "./graph/dtype.js";
import { FeedError, fmtShape } from "./errors.js";

export class HostTensor<A extends HostArray = HostArray> {
  constructor(
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly data: A,
  ) {
    const size = shapeSize(shape);
    if (data.length !== size) {
      throw new FeedError({ op: "HostTensor", expected: `${size} elements for shape ${fmtShape(shape)}`, got: `${data.length}` });
    }
  }

  get size(): number { return this.data.length; }

  static zeros(dtype: DType, shape: readonly number[]): HostTensor {
    return new HostTensor(dtype, shape, allocHostArray(dtype, shapeSize(shape)));
  }
  static f32(data: ArrayLike<number>, shape: readonly number[] = [data.length]): HostTensor<Float32Array> {
    return new HostTensor("float32", shape, Float32Array.from(data));
  }
  static f64(data: ArrayLike<number>, shape: readonly number[] = [data.length]): HostTensor<Float64Array> {
    return new HostTensor("float64", shape, Float64Array.from(data));
  }
  static i64(data: ArrayLike<number | bigint>, shape: readonly number[] = [data.length]): HostTensor<BigInt64Array> {
    return new HostTensor("int64", shape, BigInt64Array.from(Array.from(data, (v) => BigInt(v))));
  }
  static scalar(value: number, dtype: DType = "float32"): HostTensor {
    const t = HostTensor.zeros(dtype, []);
    if (dtype === "int64") (t.data as BigInt64Array)[0] = BigInt(value);
    else (t.data as Float32Array)[0] = value;
    return t;
  }

  /** Element i as a JS number (int64 converted; callers keep ids below 2^53). */
  at(i: number): number {
    const v = this.data[i]!;
    return typeof v === "bigint" ? Number(v) : v;
  }
  toNumbers(): number[] {
    return Array.from(this.data as ArrayLike<number | bigint>, (v) => Number(v));
  }
  reshape(shape: readonly number[]): HostTensor<A> {
    return new HostTensor(this.dtype, shape, this.data);
  }
  clone(): HostTensor<A> {
    return new HostTensor(this.dtype, this.shape, this.data.slice() as A);
  }
  /** Rows [start, start + count) of the first axis, as a view (no copy). */
  rows(start: number, count: number): HostTensor<A> {
    const per = this.shape.length === 0 ? 1 : shapeSize(this.shape.slice(1));
    return new HostTensor(this.dtype, [count, ...this.shape.slice(1)], this.data.subarray(start * per, (start + count) * per) as A);
  }
  /** Tensors of one dtype and trailing shape joined along the first axis (a copy). */
  static concatRows(parts: readonly HostTensor[]): HostTensor {
    const [first] = parts;
    if (!first) throw new FeedError({ op: "HostTensor.concatRows", expected: "at least one tensor", got: "none" });
    const tail = first.shape.slice(1);
    const rows = parts.reduce((n, t) => {
      if (t.dtype !== first.dtype || fmtShape(t.shape.slice(1)) !== fmtShape(tail)) {
        throw new FeedError({ op: "HostTensor.concatRows", expected: `${first.dtype} rows of shape ${fmtShape(tail)}`, got: `${t.dtype} ${fmtShape(t.shape)}` });
      }
      return n + t.shape[0]!;
    }, 0);
    const out = HostTensor.zeros(first.dtype, [rows, ...tail]);
    let at = 0;
    for (const t of parts) {
      (out.data as Float32Array).set(t.data as Float32Array, at);
      at += t.data.length;
    }
    return out;
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
