// The optimizer arithmetic as graph ops, so that clipping, AdamW and the EMA run inside the same ONNX
// Runtime session as the forward and backward passes. Everything is written to reproduce PyTorch's
// single-tensor (non-foreach, non-fused, non-amsgrad) torch.optim.AdamW and
// torch.nn.utils.clip_grad_norm_ step for step, including which scalars are rounded to float32.

import { FeedError } from "../errors.js";
import type { Tensor } from "../graph/tensor.js";
import { add, div, minimum, mul, sqrt, sub, reduceSum } from "../ops/index.js";

export interface AdamWConfig {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** Decoupled weight decay, applied to every trainable parameter (the official recipe decays norms and biases too). */
  readonly weightDecay: number;
  /** Global L2 gradient-norm clipping threshold (official: 1.0); undefined disables clipping. */
  readonly maxGradNorm?: number;
}

/** Official tokenizer recipe (spec 2.8); the generator uses beta2 0.96 and weight decay 0.045 (spec 3.4). */
export const TOKENIZER_ADAMW: AdamWConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4, maxGradNorm: 1.0 };
export const GENERATOR_ADAMW: AdamWConfig = { beta1: 0.9, beta2: 0.96, eps: 1e-8, weightDecay: 0.045, maxGradNorm: 1.0 };

/**
 * Per-step scalars, computed on the host in float64 exactly as PyTorch does in Python and then fed as
 * float32 graph inputs (PyTorch also rounds these Python floats to float32 when it applies them to
 * float32 tensors). Feeding them, rather than baking lr and step into constants, lets one compiled
 * session serve every step of the schedule.
 */
export interface AdamWStepScalars {
  /** 1 - lr * weightDecay: the decoupled decay factor (param.mul_(1 - lr * wd)). */
  readonly decay: number;
  /** lr / (1 - beta1^t): the step size applied to m / denom. */
  readonly stepSize: number;
  /** sqrt(1 - beta2^t): divides sqrt(v) before eps is added. */
  readonly bc2Sqrt: number;
}

/** Scalars for optimizer step t (1-based, as PyTorch's state["step"] after its increment). */
export function adamwStepScalars(cfg: AdamWConfig, lr: number, t: number): AdamWStepScalars {
  const bc1 = 1 - cfg.beta1 ** t;
  const bc2 = 1 - cfg.beta2 ** t;
  return { decay: 1 - lr * cfg.weightDecay, stepSize: lr / bc1, bc2Sqrt: Math.sqrt(bc2) };
}

/** The same scalars as graph tensors (shape []), fed each step. */
export interface AdamWScalarTensors {
  readonly decay: Tensor;
  readonly stepSize: Tensor;
  readonly bc2Sqrt: Tensor;
}

/**
 * clip_grad_norm_: total = sqrt(sum_i ||g_i||^2) over all gradients (the norm of the per-tensor norms),
 * coef = maxNorm / (total + 1e-6), and every gradient is multiplied by min(coef, 1) - always, as
 * PyTorch does, even when no clipping happens. Returns the pre-clipping norm, which is what PyTorch
 * returns and what the official loop logs, and the factor min(coef, 1) (absent without clipping).
 */
export function clipGradNorm(grads: readonly Tensor[], maxNorm: number | undefined): { grads: Tensor[]; norm: Tensor; coef?: Tensor } {
  if (grads.length === 0) throw new FeedError({ op: "clipGradNorm", expected: "at least one gradient", got: "none" });
  // sqrt of the summed squares equals torch's norm of the per-tensor norms up to float32 rounding.
  const norm = sqrt(grads.map((g) => reduceSum(mul(g, g))).reduce((acc, s) => add(acc, s)));
  if (maxNorm === undefined) return { grads: [...grads], norm };
  const coef = minimum(div(maxNorm, add(norm, 1e-6)), 1);
  return { grads: grads.map((g) => mul(g, coef)), norm, coef };
}

export interface AdamWState {
  readonly param: Tensor;
  readonly m: Tensor;
  readonly v: Tensor;
}

/**
 * One AdamW update of one parameter, in PyTorch's order:
 *   p <- p * (1 - lr * wd)
 *   m <- m + (1 - b1) * (g - m)          (exp_avg.lerp_(grad, 1 - beta1); = b1 * m + (1 - b1) * g)
 *   v <- v * b2 + (1 - b2) * g * g       (exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2))
 *   p <- p - stepSize * m / (sqrt(v) / sqrt(bc2) + eps)
 */
export function adamwUpdate(cur: AdamWState, g: Tensor, s: AdamWScalarTensors, cfg: AdamWConfig): AdamWState {
  const decayed = mul(cur.param, s.decay);
  const m = add(cur.m, mul(sub(g, cur.m), 1 - cfg.beta1));
  const v = add(mul(cur.v, cfg.beta2), mul(mul(g, 1 - cfg.beta2), g));
  const denom = add(div(sqrt(v), s.bc2Sqrt), cfg.eps);
  const param = sub(decayed, mul(div(m, denom), s.stepSize));
  return { param, m, v };
}

/** EMA step as the official EMAModel: shadow <- shadow - (1 - decay) * (shadow - param). */
export function emaUpdate(shadow: Tensor, param: Tensor, oneMinusDecay: Tensor): Tensor {
  return sub(shadow, mul(sub(shadow, param), oneMinusDecay));
}
