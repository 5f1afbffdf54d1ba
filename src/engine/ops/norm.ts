// Normalisations (ONNX LayerNormalization-17; GroupNorm composed from reductions). Each VJP
// recomputes the statistics with primitives (cheaper than keeping them) and applies the standard
// formula dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)); GroupNorm's is
// rearranged to need fewer passes over the tensor (see its vjp).
//
// Precision: ONNX Runtime's fused GroupNormalization reduces a whole group (262,144 values for 8
// channels at 256x256) in one float32 running sum. Measured at [1,128,256,256], 32 groups,
// single-threaded CPU, against a float64 reference (relative L2 error / median time):
//   fused GroupNormalization                      1.7e-6   46 ms
//   two-pass mean then variance, one long axis    1.7e-6   50 ms
//   float64 statistics via Cast                   6.0e-8   64 ms
//   mean/variance axis by axis (W, H, channels)   7.4e-8   43 ms
// PyTorch's float32 GroupNorm is about 1e-7 at this size. Short partial sums are as precise as
// float64 statistics; both the forward and the VJP now take them as contiguous rows (each
// channel's positions, in sqrt-length blocks above 4096 values; see reduceSumByAxis), which keeps
// that precision and runs several times faster than one axis at a time on small planes. The whole official
// 10-bit encoder at 256x256 (random weights, scripts/encoder-precision.ts) went from 1.28e-5 to
// 2.36e-6 relative L2 against float64 (PyTorch: 2.1e-6); what remains is float32 convolution.

import { defineOp, sameDType } from "./define-op.js";
import type { Shape, Tensor } from "../graph/tensor.js";
import { attr, type Emitter } from "../onnx/emitter.js";
import { fmtShape } from "../errors.js";
import { add, mul, sub } from "./binary.js";
import { reciprocal, sqrt } from "./unary.js";
import { reduceMean, reduceMeanByAxis, reduceSumByAxis, reductionBlock } from "./reduce.js";
import { expandLike, reshape, reshapeLike } from "./shape-ops.js";

/** xhat and rstd over the last axis (keepdims), for the LayerNorm VJP. */
function standardizeLast(x: Tensor, eps: number): { xhat: Tensor; rstd: Tensor } {
  const last = x.rank - 1;
  const mu = reduceMean(x, [last], true);
  const xc = sub(x, mu);
  const rstd = reciprocal(sqrt(add(reduceMean(mul(xc, xc), [last], true), eps)));
  return { xhat: mul(xc, rstd), rstd };
}

function normInputGrad(dxhat: Tensor, xhat: Tensor, rstd: Tensor, mean: (t: Tensor) => Tensor): Tensor {
  return mul(rstd, sub(sub(dxhat, mean(dxhat)), mul(xhat, mean(mul(dxhat, xhat)))));
}

/**
 * The mean of x [B, C, ...spatial] over each group of channels and all positions, as [B, C, 1, ...]:
 * spatial axes one at a time (innermost first), then the channels of a group.
 */
function groupMean(x: Tensor, groups: number): Tensor {
  const spatial = x.shape.map((_, i) => i).filter((i) => i >= 2);
  return spreadGroupMean(reduceMeanByAxis(x, spatial, true), groups);
}

/** Per-channel statistics [B, C, 1, ...] averaged over each group's channels, spread back to [B, C, 1, ...]. */
function spreadGroupMean(perChannel: Tensor, groups: number): Tensor {
  const c = perChannel.shape[1] as number;
  const grouped = reshape(perChannel, [perChannel.shape[0]!, groups, c / groups]);
  return reshapeLike(expandLike(reduceMean(grouped, [2], true), grouped), perChannel);
}

/**
 * The same statistic in ONNX nodes, for the forward emission, in the same passes as
 * reduceMeanByAxis: the positions of each channel as one contiguous row (in blocks when long),
 * then the channels of a group.
 */
function emitGroupMean(e: Emitter, x: string, shape: Shape, groups: number): string {
  const c = shape[1] as number, rank = shape.length;
  const spatial = shape.slice(2);
  const p = spatial.every((d) => typeof d === "number") ? (spatial as number[]).reduce((a, d) => a * d, 1) : -1;
  const k = p > 0 ? reductionBlock(p) : 1;
  const mean = (t: string, axis: number, keep: boolean) => e.op("ReduceMean", [t, e.i64s([axis])], { keepdims: attr.int(keep ? 1 : 0) });
  // 0 copies the (possibly symbolic) batch.
  let m = e.op("Reshape", [x, e.i64s(k > 1 ? [0, c, p / k, k] : [0, c, p])]);
  if (k > 1) m = mean(m, 3, false);
  const grouped = e.op("Reshape", [mean(m, 2, false), e.i64s([-1, groups, c / groups])]);
  // Expand broadcasts both ways, so [1, 1, C/G] spreads each group's mean over its channels.
  const spread = e.op("Expand", [mean(grouped, 2, true), e.i64s([1, 1, c / groups])]);
  return e.op("Reshape", [spread, e.i64s([-1, c, ...Array.from({ length: rank - 2 }, () => 1)])]);
}

interface GroupNormAttrs { readonly groups: number; readonly eps: number }

const groupNormOp = defineOp<GroupNormAttrs>({
  name: "groupNorm",
  infer: (ins, a, ctx) => {
    const [x, scale, bias] = ins as [Tensor, Tensor, Tensor];
    const dtype = sameDType(ctx, ins, ["float32", "float64"]);
    const c = x.shape[1];
    if (x.rank < 3 || typeof c !== "number") ctx.shapeError("x [B, C, ...] with static C", fmtShape(x.shape));
    if ((c as number) % a.groups !== 0) ctx.shapeError(`channels divisible by ${a.groups} groups`, `${c} channels in x ${fmtShape(x.shape)}`);
    for (const p of [scale, bias]) if (p.rank !== 1 || p.shape[0] !== c) ctx.shapeError(`scale and bias [${c}]`, fmtShape(p.shape));
    return [{ dtype, shape: x.shape }];
  },
  onnx: (e, { inputs: [x, scale, bias], outputs, attrs, node }) => {
    const { rank, dtype, shape } = node.inputs[0]!;
    const c = shape[1] as number;
    const perChannel = e.i64s([c, ...Array.from({ length: rank - 2 }, () => 1)]);
    const xc = e.op("Sub", [x!, emitGroupMean(e, x!, shape, attrs.groups)]);
    const variance = emitGroupMean(e, e.op("Mul", [xc, xc]), shape, attrs.groups);
    const std = e.op("Sqrt", [e.op("Add", [variance, e.scalar(attrs.eps, dtype)])]);
    const factor = e.op("Div", [e.op("Reshape", [scale!, perChannel]), std]);
    e.op("Add", [e.op("Mul", [xc, factor]), e.op("Reshape", [bias!, perChannel])], {}, outputs[0]);
  },
  // With xc = x - mean and per-channel sums over positions s1 = sum g, s2 = sum g * xc, the
  // standard formula becomes dx = rstd*scale * g - rstd^3 * m2 * xc - rstd * m1, where m1 and m2
  // are the group means of scale*g and scale*g*xc; both come from s1 and s2, so dx is two
  // multiplies and two adds over the tensor, and the parameter gradients reuse s1 and s2. Eleven
  // passes over x-sized tensors in all (the textbook form built from primitives takes about 18).
  vjp: ({ g: [g], inputs: [x, scale], attrs }) => {
    const c = x!.shape[1] as number;
    const spatialAxes = x!.shape.map((_, i) => i).filter((i) => i >= 2);
    const positions = spatialAxes.reduce((n, a) => n * (x!.shape[a] as number), 1);
    const perChannel = (t: Tensor) => reshape(t, [c, ...spatialAxes.map(() => 1)]);
    const xc = sub(x!, groupMean(x!, attrs.groups));
    const rstd = reciprocal(sqrt(add(groupMean(mul(xc, xc), attrs.groups), attrs.eps))); // [B, C, 1, ...]
    const s1 = reduceSumByAxis(g!, spatialAxes, true);
    const s2 = reduceSumByAxis(mul(g!, xc), spatialAxes, true);
    const sc = perChannel(scale!);
    const m1 = mul(spreadGroupMean(mul(s1, sc), attrs.groups), 1 / positions);
    const m2 = mul(spreadGroupMean(mul(s2, sc), attrs.groups), 1 / positions);
    const gCoef = mul(rstd, sc);
    const xcCoef = mul(mul(m2, rstd), mul(rstd, rstd));
    const dx = sub(sub(mul(g!, gCoef), mul(xc, xcCoef)), mul(rstd, m1));
    const batchAndSpatial = [0, ...spatialAxes];
    return [dx, reduceSumByAxis(mul(rstd, s2), batchAndSpatial), reduceSumByAxis(s1, batchAndSpatial)];
  },
});
/** GroupNorm over [B, C, ...] with per-channel affine scale and bias. */
export const groupNorm = (x: Tensor, scale: Tensor, bias: Tensor, groups: number, eps: number): Tensor =>
  groupNormOp([x, scale, bias], { groups, eps })[0]!;

const layerNormOp = defineOp<{ eps: number }>({
  name: "layerNorm",
  infer: (ins, _a, ctx) => {
    const [x, scale, bias] = ins as [Tensor, Tensor, Tensor];
    const dtype = sameDType(ctx, ins, ["float32", "float64"]);
    const d = x.shape[x.rank - 1];
    for (const p of [scale, bias]) if (p.rank !== 1 || p.shape[0] !== d) ctx.shapeError(`scale and bias [${d}] matching x's last axis`, `${fmtShape(p.shape)} for x ${fmtShape(x.shape)}`);
    return [{ dtype, shape: x.shape }];
  },
  onnx: (e, { inputs, outputs, attrs }) => e.op("LayerNormalization", inputs, { axis: attr.int(-1), epsilon: attr.float(attrs.eps) }, outputs[0]),
  vjp: ({ g: [g], inputs: [x, scale], attrs }) => {
    const last = x!.rank - 1;
    const { xhat, rstd } = standardizeLast(x!, attrs.eps);
    const dx = normInputGrad(mul(g!, scale!), xhat, rstd, (t) => reduceMean(t, [last], true));
    // The parameter gradients sum over every token of the batch: a long reduction, so axis by axis.
    const lead = x!.shape.map((_, i) => i).slice(0, -1);
    return [dx, reduceSumByAxis(mul(g!, xhat), lead), reduceSumByAxis(g!, lead)];
  },
});
/** LayerNorm over the last axis. */
export const layerNorm = (x: Tensor, scale: Tensor, bias: Tensor, eps: number): Tensor => layerNormOp([x, scale, bias], { eps })[0]!;
