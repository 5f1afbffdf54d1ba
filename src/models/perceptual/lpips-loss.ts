// An LPIPS-style perceptual distance on a frozen small classifier (perceptual_loss
// "small_classifier_lpips"): the spirit of Zhang et al. 2018's "baseline" LPIPS (no learned
// per-channel weights), on an in-domain network instead of an ImageNet one:
//
//   d(x, x^) = sum over layers l of  mean over (b, h, w) of  sum over c of (n_l(x) - n_l(x^))^2,
//   n_l(x)[c, h, w] = f_l(x)[c, h, w] / sqrt(sum over c' of f_l(x)[c', h, w]^2 + eps)
//
// with f_l the output of stage l of the classifier. Normalising each pixel's channel vector makes
// every layer count alike whatever its activation scale, and compares what the features point to
// rather than how strongly. Per pixel the term lies in [0, 4]. eps keeps the gradient finite where
// a feature vector is all zero. The network's weights are frozen; gradients flow into both images.

import type { Tensor } from "../../engine/graph/tensor.js";
import { add, div, mul, reduceMean, reduceSum, sqrt, sub } from "../../engine/ops/index.js";
import { frozen } from "../../engine/nn/frozen.js";
import { ShapeError, fmtShape } from "../../engine/errors.js";
import { perceptualInput, type PerceptualNet } from "./perceptual-loss.js";

const EPS = 1e-10;

/** Each pixel's channel vector scaled to unit length: f / sqrt(sum_c f^2 + eps), f [B, C, H, W]. */
export function channelNormalised(f: Tensor): Tensor {
  return div(f, sqrt(add(reduceSum(mul(f, f), [1], true), EPS)));
}

/** Scalar: the distance above, averaged over the batch. */
export function lpipsLoss(x: Tensor, xHat: Tensor, net: PerceptualNet, opts: { readonly scope?: string } = {}): Tensor {
  const g = x.graph;
  if (fmtShape(x.shape) !== fmtShape(xHat.shape)) {
    throw new ShapeError({ op: "lpipsLoss", scope: g.scopePath, expected: "x and xHat of one shape", got: `${fmtShape(x.shape)} and ${fmtShape(xHat.shape)}` });
  }
  const layersOf = (img: Tensor): readonly Tensor[] => frozen(g, () => {
    const run = () => net.forward(perceptualInput(img, net));
    const out = opts.scope ? g.scope(opts.scope, run) : run();
    if (!out.stages?.length) throw new ShapeError({ op: "lpipsLoss", scope: g.scopePath, expected: `a network that exposes its stages (${net.name} does not)`, got: "no stages" });
    return out.stages;
  });
  // Two passes sharing weights: only the xHat branch needs a backward.
  const a = layersOf(x), b = layersOf(xHat);
  let total: Tensor | null = null;
  a.forEach((fa, l) => {
    const d = sub(channelNormalised(fa), channelNormalised(b[l]!));
    const term = reduceMean(reduceSum(mul(d, d), [1]));
    total = total ? add(total, term) : term;
  });
  return total!;
}
