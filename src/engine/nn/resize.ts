// Bilinear resizing as two matmuls with interpolation matrices computed once at build time:
// exact, differentiable through matmul's VJP, and able to express PyTorch's antialiased
// downsampling and TF1's legacy sampling grid alike.

import type { Tensor } from "../graph/tensor.js";
import { matmul } from "../ops/index.js";
import { HostTensor } from "../host-tensor.js";
import { ShapeError, fmtShape } from "../errors.js";

export type ResizeMode =
  /** PyTorch bilinear, align_corners=False (antialias applies only when downsampling). */
  | { readonly kind: "torch"; readonly antialias: boolean }
  /** TF1 legacy bilinear: src = dst * float32(in/out), no half-pixel offset. */
  | { readonly kind: "tf1" };

/** Interpolation weights [out, in] for one axis, in float64 (rounded to the graph's dtype later). */
export function resizeMatrix(inSize: number, outSize: number, mode: ResizeMode): Float64Array {
  const m = new Float64Array(outSize * inSize);
  const scale = inSize / outSize;
  if (mode.kind === "torch" && mode.antialias && scale > 1) {
    // Triangle filter widened by the scale factor, normalised per output pixel.
    const support = scale;
    for (let o = 0; o < outSize; o++) {
      const center = scale * (o + 0.5);
      const lo = Math.max(Math.floor(center - support + 0.5), 0);
      const hi = Math.min(Math.floor(center + support + 0.5), inSize);
      let total = 0;
      const ws: number[] = [];
      for (let j = lo; j < hi; j++) {
        const w = Math.max(0, 1 - Math.abs((j - center + 0.5) / scale));
        ws.push(w);
        total += w;
      }
      ws.forEach((w, k) => (m[o * inSize + lo + k] = total > 0 ? w / total : 0));
    }
    return m;
  }
  const step = mode.kind === "tf1" ? Math.fround(scale) : scale;
  for (let o = 0; o < outSize; o++) {
    const src = mode.kind === "tf1" ? o * step : Math.max((o + 0.5) * step - 0.5, 0);
    const lo = Math.min(Math.floor(src), inSize - 1);
    const hi = Math.min(lo + 1, inSize - 1);
    const frac = src - lo;
    m[o * inSize + lo]! += 1 - frac;
    m[o * inSize + hi]! += frac;
  }
  return m;
}

/** x [B, C, H, W] -> [B, C, outH, outW], in x's float dtype. */
export function resizeBilinear(x: Tensor, size: readonly [number, number], mode: ResizeMode): Tensor {
  const [h, w] = [x.shape[2], x.shape[3]];
  if (x.rank !== 4 || typeof h !== "number" || typeof w !== "number") {
    throw new ShapeError({ op: "resizeBilinear", scope: x.graph.scopePath, expected: "x [B, C, H, W] with static H, W", got: fmtShape(x.shape) });
  }
  const g = x.graph;
  const asConstant = (data: Float64Array, shape: number[]) =>
    g.constant(x.dtype === "float64" ? new HostTensor("float64", shape, data) : new HostTensor("float32", shape, Float32Array.from(data)));
  const rows = h === size[0] ? null : asConstant(resizeMatrix(h, size[0], mode), [size[0], h]);
  const colsT = w === size[1] ? null : asConstant(transposed(resizeMatrix(w, size[1], mode), size[1], w), [w, size[1]]);
  let y = rows ? matmul(rows, x) : x;
  if (colsT) y = matmul(y, colsT);
  return y;
}

function transposed(m: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c]!;
  return t;
}
