// Masking (spec 3.4, 3.5): the mask-ratio schedules, the training-time Bernoulli masks and label
// dropout, and the label-smoothed MLM loss.
//
// Schedules are per-step scalars, so they are computed on the host, reproducing the float32
// arithmetic of the official code (torch ops on float32 scalars) so that step counts agree
// exactly; see the `schedules` golden case. Everything per-slot is a graph op.

import type { Tensor } from "../../engine/graph/tensor.js";
import { HostTensor } from "../../engine/host-tensor.js";
import {
  add, argMax, cast, cos, div, equal, gatherElements, greater, less, logSoftmax, maximum, mul, neg, pow, reduceMean, reduceSum, sqrt, sub,
  unsqueeze, where,
} from "../../engine/ops/index.js";
import { ShapeError, fmtShape } from "../../engine/errors.js";
import type { GuidanceAnnealing, MaskSchedule } from "./config.js";

const f32 = Math.fround;
const HALF_PI_F32 = f32(Math.PI * 0.5);

// --- schedules (host scalars) --------------------------------------------------------------------

/** The unclamped ratio of a schedule at x in [0, 1], in float32 as torch computes it on a float32 scalar. */
function scheduleValue(x: number, schedule: MaskSchedule): number {
  const r = f32(x);
  switch (schedule) {
    case "arccos": return f32(f32(Math.acos(r)) / HALF_PI_F32);
    case "linear": return f32(1 - r);
    case "square": return f32(1 - f32(r * r));
    case "cosine": return f32(Math.cos(f32(f32(r * f32(Math.PI)) * 0.5)));
    case "root": return f32(1 - f32(Math.sqrt(r)));
  }
}

/** Training masking probability for a draw r ~ U(0, 1) (no clamp): arccos(r) / (pi/2) for "arccos". */
export const trainMaskRatio = (r: number, schedule: MaskSchedule): number => scheduleValue(r, schedule);

/** Sampling mask ratio after `step` (0-based) of `steps`: schedule((i+1)/T) clamped to [1e-6, 1]. */
export function maskRatio(step: number, steps: number, schedule: MaskSchedule): number {
  return Math.min(Math.max(scheduleValue((step + 1) / steps, schedule), f32(1e-6)), 1);
}

/**
 * k_i, the number of slots re-masked after step i: clamp(floor(ratio * S), 1, numMasked - 1).
 * Like torch.clamp, the upper bound wins when numMasked - 1 < 1 (k = 0 then).
 */
export function numToMask(step: number, steps: number, numMasked: number, slots: number, schedule: MaskSchedule): number {
  const len = Math.floor(f32(maskRatio(step, steps, schedule) * slots));
  return Math.min(Math.max(len, 1), numMasked - 1);
}

/**
 * The classifier-free-guidance weight at step i of T, evaluated at i/T (so w_0 = 0 for
 * "cosine"): cosine 0.5 (1 - cos(pi (i/T)^p)) in float32, linear i/T, none 1.
 */
export function guidanceWeight(step: number, steps: number, annealing: GuidanceAnnealing, scalePow: number): number {
  switch (annealing) {
    case "none": return 1;
    case "linear": return step / steps;
    case "cosine": {
      const ramp = f32(Math.pow(f32(step / steps), f32(scalePow)));
      return f32(1 - f32(Math.cos(f32(ramp * f32(Math.PI))))) / 2;
    }
  }
}

/** The CFG scale s * w_i as the official loop applies it to float32 logits. */
export function guidanceScaleAt(step: number, steps: number, guidanceScale: number, annealing: GuidanceAnnealing, scalePow: number): number {
  const w = guidanceWeight(step, steps, annealing, scalePow);
  // "cosine" yields a float32 tensor (s is rounded first); the others stay Python floats until used.
  return annealing === "cosine" ? f32(f32(guidanceScale) * w) : f32(guidanceScale * w);
}

/** Softmax temperature at step i: fixed, or 0.5 + 0.8 (1 - progress) with sampling annealing. */
export const softmaxTemperatureAt = (step: number, steps: number, base: number, annealing: boolean): number =>
  annealing ? 0.5 + 0.8 * (1 - (step + 1) / steps) : base;

// --- seeds ----------------------------------------------------------------------------------------

/**
 * The int64 seed fed to a graph's randomUniform sites at `step` of a run seeded with `runSeed`.
 * randomUniform keys on the low 31 bits, and for a fixed run distinct steps give distinct seeds.
 */
export function stepSeed(runSeed: number, step: number): HostTensor {
  const mixed = (BigInt(Math.trunc(runSeed)) * 0x9e3779b1n + BigInt(step)) & 0x7fffffffn;
  return new HostTensor("int64", [], BigInt64Array.of(mixed));
}

// --- training masks (graph) ----------------------------------------------------------------------

/**
 * Bernoulli masks: slot (b, l, n) is masked iff u[b, l, n] < ratio(r[b]), with r [B] and u [B, L, N]
 * uniform in (0, 1). For "arccos" the test is written as cos(u pi/2) > r, which is the same event
 * (cos is decreasing on [0, pi/2]) and needs no arccos op.
 */
export function bernoulliMask(r: Tensor, u: Tensor, schedule: MaskSchedule): Tensor {
  if (r.rank !== 1 || u.rank < 2 || u.shape[0] !== r.shape[0]) {
    throw new ShapeError({ op: "bernoulliMask", scope: r.graph.scopePath, expected: "r [B] and u [B, ...]", got: `${fmtShape(r.shape)} and ${fmtShape(u.shape)}` });
  }
  const rb = unsqueeze(r, Array.from({ length: u.rank - 1 }, (_, i) => i + 1));
  switch (schedule) {
    case "arccos": return greater(cos(mul(u, Math.PI / 2)), rb);
    case "linear": return less(u, sub(1, rb));
    case "square": return less(u, sub(1, mul(rb, rb)));
    case "cosine": return less(u, cos(mul(rb, Math.PI / 2)));
    case "root": return less(u, sub(1, sqrt(rb)));
  }
}

/** tokens where `mask` is false, the mask id where it is true. */
export const applyMask = (tokens: Tensor, mask: Tensor, maskId: number): Tensor => where(mask, maskId, tokens);

/** Per-sample label dropout from uniforms u [B]: true with probability p. */
export const labelDropMask = (u: Tensor, p: number): Tensor => less(u, p);

// --- MLM loss (graph) ----------------------------------------------------------------------------

export interface MlmLossOptions {
  /** PyTorch CrossEntropyLoss(label_smoothing): target = (1 - eps) onehot + eps / C. */
  readonly labelSmoothing: number;
  /** Multiply by the number of groups (official `sum_splits`). */
  readonly sumSplits?: boolean;
  /** [B, L, N] bool: slots for the masked-only loss and accuracy (logged, not optimised). */
  readonly lossMask?: Tensor;
  /** Optimise the masked-only loss instead (the paper's wording; the official code averages all slots). */
  readonly maskedOnly?: boolean;
}

export interface MlmLoss {
  /** The optimised value: label-smoothed CE over ALL B*L*N slots (official), or maskedLoss with maskedOnly. */
  readonly loss: Tensor;
  /** Fraction of slots whose argmax is right, to the power N (official `correct_tokens`). */
  readonly correctTokens: Tensor;
  /** The same criterion over lossMask slots only (official `masked_token_loss`), if lossMask given. */
  readonly maskedLoss?: Tensor;
  readonly maskedCorrectTokens?: Tensor;
}

/** logits [B, L, N, C], targets [B, L, N] int64. */
export function mlmLoss(logits: Tensor, targets: Tensor, o: MlmLossOptions): MlmLoss {
  const slotsShape = logits.shape.slice(0, -1);
  if (logits.rank !== 4 || targets.dtype !== "int64" || fmtShape(targets.shape) !== fmtShape(slotsShape)) {
    throw new ShapeError({ op: "mlmLoss", scope: logits.graph.scopePath, expected: `logits [B, L, N, C] and int64 targets ${fmtShape(slotsShape)}`, got: `${logits} and ${targets}` });
  }
  if (o.maskedOnly && !o.lossMask) throw new ShapeError({ op: "mlmLoss", scope: logits.graph.scopePath, expected: "a lossMask with maskedOnly", got: "none" });
  const groups = logits.shape[2] as number;
  const eps = o.labelSmoothing;
  const logp = logSoftmax(logits, -1);
  const nll = neg(reduceSum(gatherElements(logp, unsqueeze(targets, [-1]), -1), [-1]));
  const uniform = neg(reduceMean(logp, [-1]));
  const perSlot = eps === 0 ? nll : add(mul(nll, 1 - eps), mul(uniform, eps));
  const scale = o.sumSplits ? groups : 1;
  const correct = cast(equal(argMax(logits, -1), targets), "float32");
  const out: MlmLoss = { loss: mul(reduceMean(perSlot), scale), correctTokens: pow(reduceMean(correct), groups) };
  if (!o.lossMask) return out;
  const m = cast(o.lossMask, "float32");
  // Guard the empty selection (official: NaN) so a logged value stays finite.
  const count = maximum(reduceSum(m), 1);
  const maskedMean = (x: Tensor) => div(reduceSum(mul(x, m)), count);
  const maskedLoss = mul(maskedMean(perSlot), scale);
  return { ...out, ...(o.maskedOnly ? { loss: maskedLoss } : {}), maskedLoss, maskedCorrectTokens: pow(maskedMean(correct), groups) };
}
