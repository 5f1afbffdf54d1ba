// BatchNorm2d in training mode: normalise each channel by the statistics of the current batch
// (mean and biased variance over B, H, W, as PyTorch does in train()), then scale and shift with
// `weight` (init 1) and `bias` (init 0).
//
// Running statistics: not kept. This layer exists for the Taming PatchGAN discriminator, which is
// only ever run inside training steps, where PyTorch also normalises by batch statistics; its
// running_mean / running_var buffers would only matter in eval mode, which no code path uses
// (reconstruction metrics never touch the discriminator). So no buffers are declared, and a
// checkpoint of this layer has exactly the two affine tensors.

import type { Tensor } from "../graph/tensor.js";
import { add, div, mul, reduceMean, reshape, sqrt, sub } from "../ops/index.js";
import { ShapeError, fmtShape } from "../errors.js";
import { ones, zeros } from "./init.js";

/** x [B, C, H, W] -> same shape; parameters `<name>.weight|bias` [C]. */
export function batchNormTrainingLayer(x: Tensor, name: string, channels: number, eps = 1e-5): Tensor {
  const g = x.graph;
  if (x.rank !== 4 || x.shape[1] !== channels) {
    throw new ShapeError({ op: "batchNormTrainingLayer", scope: `${g.scopePath}.${name}`, expected: `x [B, ${channels}, H, W]`, got: fmtShape(x.shape) });
  }
  return g.scope(name, () => batchNormTraining(x, g.param("weight", [channels], ones), g.param("bias", [channels], zeros), eps));
}

/** The math: (x - mean) / sqrt(var + eps) * weight + bias, statistics per channel over B, H, W (biased variance). */
export function batchNormTraining(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const c = x.shape[1] as number;
  const mean = reduceMean(x, [0, 2, 3], true);
  const centred = sub(x, mean);
  const variance = reduceMean(mul(centred, centred), [0, 2, 3], true);
  const normalised = div(centred, sqrt(add(variance, eps)));
  return add(mul(normalised, reshape(weight, [1, c, 1, 1])), reshape(bias, [1, c, 1, 1]));
}
