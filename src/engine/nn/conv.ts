// Convolution layers with PyTorch parameter names (`<name>.weight`, `<name>.bias`) and init.

import type { Tensor } from "../graph/tensor.js";
import { conv2d } from "../ops/index.js";
import { ShapeError, fmtShape } from "../errors.js";
import { torchDefault } from "./init.js";

export type Padding =
  /** TensorFlow "SAME" computed from the input size: extra padding goes bottom/right. */
  | "same"
  | number
  | readonly [top: number, left: number, bottom: number, right: number];

export interface Conv2dOptions {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: number;
  readonly stride?: number;
  readonly padding?: Padding;
  readonly dilation?: number;
  readonly groups?: number;
  readonly bias?: boolean;
}

/** TF-SAME pads for one axis: total = max((ceil(i/s)-1)*s + (k-1)*d + 1 - i, 0), floor half first. */
export function samePads(size: number, k: number, s: number, d: number): [number, number] {
  const total = Math.max((Math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** A conv layer whose parameters live at `<scope>.<name>.weight|bias`. */
export function conv2dLayer(x: Tensor, name: string, o: Conv2dOptions): Tensor {
  const g = x.graph;
  const stride = o.stride ?? 1, dilation = o.dilation ?? 1, groups = o.groups ?? 1;
  const [h, w] = [x.shape[2], x.shape[3]];
  if (x.rank !== 4 || x.shape[1] !== o.inChannels) {
    throw new ShapeError({ op: "conv2dLayer", scope: `${g.scopePath}.${name}`, expected: `x [B, ${o.inChannels}, H, W]`, got: fmtShape(x.shape) });
  }
  let pads: [number, number, number, number];
  const padding = o.padding ?? 0;
  if (padding === "same") {
    if (typeof h !== "number" || typeof w !== "number") throw new ShapeError({ op: "conv2dLayer", scope: name, expected: "static H, W for SAME padding", got: fmtShape(x.shape) });
    const [t, b] = samePads(h, o.kernel, stride, dilation);
    const [l, r] = samePads(w, o.kernel, stride, dilation);
    pads = [t, l, b, r];
  } else if (typeof padding === "number") pads = [padding, padding, padding, padding];
  else pads = [...padding] as [number, number, number, number];

  return g.scope(name, () => {
    const fanIn = (o.inChannels / groups) * o.kernel * o.kernel;
    const weight = g.param("weight", [o.outChannels, o.inChannels / groups, o.kernel, o.kernel], torchDefault(fanIn));
    const bias = o.bias === false ? undefined : g.param("bias", [o.outChannels], torchDefault(fanIn));
    return conv2d(x, weight, { strides: [stride, stride], pads, dilations: [dilation, dilation], group: groups }, bias);
  });
}
