// Adaptive max pooling (PyTorch AdaptiveMaxPool2d): output cell o covers input rows
// [floor(o*in/out), ceil((o+1)*in/out)). Exact divisions use MaxPool; anything else (including
// upsampling, where windows hold a single row) gathers padded windows and reduces them.

import type { Tensor } from "../graph/tensor.js";
import { gather, maxPool, reduceMax } from "../ops/index.js";
import { HostTensor } from "../host-tensor.js";
import { ShapeError, fmtShape } from "../errors.js";

function poolAxis(x: Tensor, axis: 2 | 3, out: number): Tensor {
  const n = x.shape[axis] as number;
  if (n === out) return x;
  const windows = Array.from({ length: out }, (_, o) => [Math.floor((o * n) / out), Math.ceil(((o + 1) * n) / out)] as const);
  const width = Math.max(...windows.map(([s, e]) => e - s));
  // Short windows repeat their last row: a duplicate cannot change a max.
  const idx = windows.flatMap(([s, e]) => Array.from({ length: width }, (_, k) => Math.min(s + k, e - 1)));
  const picked = gather(x, x.graph.constant(HostTensor.i64(idx, [out, width])), axis);
  return reduceMax(picked, [axis + 1], false);
}

export function adaptiveMaxPool2d(x: Tensor, size: readonly [number, number]): Tensor {
  const [h, w] = [x.shape[2], x.shape[3]];
  if (x.rank !== 4 || typeof h !== "number" || typeof w !== "number") {
    throw new ShapeError({ op: "adaptiveMaxPool2d", scope: x.graph.scopePath, expected: "x [B, C, H, W] with static H, W", got: fmtShape(x.shape) });
  }
  if (h % size[0] === 0 && w % size[1] === 0 && (h !== size[0] || w !== size[1])) {
    const kh = h / size[0], kw = w / size[1];
    return maxPool(x, { kernel: [kh, kw], strides: [kh, kw], pads: [0, 0, 0, 0] });
  }
  return poolAxis(poolAxis(x, 2, size[0]), 3, size[1]);
}
