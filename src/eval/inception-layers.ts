// Building blocks of the FID Inception-v3 that the engine does not provide as such, for float32
// and float64 graphs alike:
// - conv: ONNX Runtime's CPU Conv kernel exists only for float32, so float64 convolutions are
//   composed as im2col (shifted slices) + one MatMul, which ORT runs in float64;
// - BasicConv2d: conv (no bias) + eval BatchNorm (eps 1e-3) + ReLU, under the official keys;
// - 3x3/s1/p1 average pooling with count_include_pad=False (sum of shifted slices / count map);

import type { Dim, Tensor } from "../engine/graph/tensor.js";
import type { FloatDType } from "../engine/graph/dtype.js";
import { HostTensor } from "../engine/host-tensor.js";
import { add, cast, concat, conv2d, div, gather, matmul, mul, pad, relu, reshape, slice, sqrt, sub } from "../engine/ops/index.js";
import { ShapeError, fmtShape } from "../engine/errors.js";
import { resizeBilinear } from "../engine/nn/resize.js";

const BN_EPS = 1e-3;

export interface ConvSpec {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: readonly [number, number];
  readonly stride?: number;
  readonly padding?: readonly [number, number];
}

function staticHW(x: Tensor, op: string): [number, number] {
  const [h, w] = [x.shape[2], x.shape[3]];
  if (x.rank !== 4 || typeof h !== "number" || typeof w !== "number") {
    throw new ShapeError({ op, scope: x.graph.scopePath, expected: "x [B, C, H, W] with static H, W", got: fmtShape(x.shape) });
  }
  return [h, w];
}

/** Rows (axis 2) or columns (axis 3) start, start+stride, ... (count of them). */
function strided(x: Tensor, axis: 2 | 3, start: number, count: number, stride: number): Tensor {
  if (stride === 1) return slice(x, [axis], [start], [start + count]);
  const idx = Array.from({ length: count }, (_, i) => start + i * stride);
  return gather(x, x.graph.constant(HostTensor.i64(idx, [count])), axis);
}

/** Convolution without bias, x [B, C, H, W] and w [O, C, kh, kw] of x's dtype, symmetric pads. */
export function convNoBias(x: Tensor, w: Tensor, stride: number, padding: readonly [number, number]): Tensor {
  const [ph, pw] = padding;
  if (x.dtype === "float32") return conv2d(x, w, { strides: [stride, stride], pads: [ph, pw, ph, pw], dilations: [1, 1], group: 1 });
  const [h, wd] = staticHW(x, "convNoBias");
  const [o, c, kh, kw] = w.staticShape("convNoBias weight");
  const b: Dim = x.shape[0]!;
  const ho = Math.floor((h + 2 * ph - kh!) / stride) + 1, wo = Math.floor((wd + 2 * pw - kw!) / stride) + 1;
  const xp = ph || pw ? pad(x, [0, 0, ph, pw, 0, 0, ph, pw]) : x;
  // Column (c, p, q) of the im2col matrix matches w's flat (C, kh, kw) order.
  const patches: Tensor[] = [];
  for (let p = 0; p < kh!; p++) {
    const rows = strided(xp, 2, p, ho, stride);
    for (let q = 0; q < kw!; q++) patches.push(reshape(strided(rows, 3, q, wo, stride), [b, c!, 1, ho * wo]));
  }
  const cols = reshape(concat(patches, 2), [b, c! * kh! * kw!, ho * wo]);
  return reshape(matmul(reshape(w, [o!, c! * kh! * kw!]), cols), [b, o!, ho, wo]);
}

/**
 * torch-fidelity's BasicConv2d under `<name>.conv.weight` and `<name>.bn.*` (eval BatchNorm,
 * eps 1e-3). Parameters are declared float32 (as stored) and cast to the graph's dtype.
 */
export function basicConv(x: Tensor, name: string, spec: ConvSpec, dtype: FloatDType): Tensor {
  const g = x.graph;
  if (x.shape[1] !== spec.inChannels) {
    throw new ShapeError({ op: "basicConv", scope: g.scopePath ? `${g.scopePath}.${name}` : name, expected: `x [B, ${spec.inChannels}, H, W]`, got: fmtShape(x.shape) });
  }
  return g.scope(name, () => {
    const [kh, kw] = spec.kernel, o = spec.outChannels;
    const w = g.scope("conv", () => g.param("weight", [o, spec.inChannels, kh, kw], { kind: "constant", value: 0 }));
    const bn = g.scope("bn", () => {
      const p = (key: string) => cast(g.param(key, [o], { kind: "constant", value: key === "running_var" || key === "weight" ? 1 : 0 }, { trainable: false }), dtype);
      // Declared so the state dict is complete; eval BatchNorm never reads it.
      g.param("num_batches_tracked", [], { kind: "constant", value: 0 }, { dtype: "int64", trainable: false });
      return { weight: p("weight"), bias: p("bias"), mean: p("running_mean"), var: p("running_var") };
    });
    // Eval BatchNorm as y = x * scale + (bias - mean * scale), scale = weight / sqrt(var + eps).
    const scale = div(bn.weight, sqrt(add(bn.var, BN_EPS)));
    const shift = sub(bn.bias, mul(bn.mean, scale));
    const y = convNoBias(x, cast(w, dtype), spec.stride ?? 1, spec.padding ?? [0, 0]);
    return relu(add(mul(y, reshape(scale, [1, o, 1, 1])), reshape(shift, [1, o, 1, 1])));
  });
}

/** avg_pool2d(3, stride 1, padding 1, count_include_pad=False): window sums / in-image cell counts. */
export function avgPool3x3ExcludePad(x: Tensor): Tensor {
  const [h, w] = staticHW(x, "avgPool3x3ExcludePad");
  const xp = pad(x, [0, 0, 1, 1, 0, 0, 1, 1]);
  const rowSum = add(add(slice(xp, [2], [0], [h]), slice(xp, [2], [1], [h + 1])), slice(xp, [2], [2], [h + 2]));
  const sum = add(add(slice(rowSum, [3], [0], [w]), slice(rowSum, [3], [1], [w + 1])), slice(rowSum, [3], [2], [w + 2]));
  const inside = (i: number, n: number) => 1 + (i > 0 ? 1 : 0) + (i < n - 1 ? 1 : 0);
  const counts = new Float64Array(h * w);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) counts[i * w + j] = inside(i, h) * inside(j, w);
  const countT = new HostTensor("float64", [1, 1, h, w], counts);
  return div(sum, x.graph.constant(x.dtype === "float64" ? countT : new HostTensor("float32", [1, 1, h, w], Float32Array.from(counts))));
}

/** x [B, C, H, W] -> [B, C, size, size] with TF1 legacy bilinear weights in x's dtype. */
export function resizeTf1(x: Tensor, size: number): Tensor {
  return resizeBilinear(x, [size, size], { kind: "tf1" });
}
