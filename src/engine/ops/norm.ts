// Fused normalisations (ONNX GroupNormalization-21, LayerNormalization-17). The forward uses the
// fused kernel; the VJP recomputes the statistics with primitives and applies the standard
// formula dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).

import { defineOp, sameDType } from "./define-op.js";
import type { Tensor } from "../graph/tensor.js";
import { attr } from "../onnx/emitter.js";
import { fmtShape } from "../errors.js";
import { add, mul, sub } from "./binary.js";
import { reciprocal, sqrt } from "./unary.js";
import { reduceMean, reduceSum } from "./reduce.js";
import { reshape, reshapeLike } from "./shape-ops.js";

/** xhat and rstd of x over `axes` (keepdims), the shared part of both VJPs. */
function standardize(x: Tensor, axes: number[], eps: number): { xhat: Tensor; rstd: Tensor } {
  const mu = reduceMean(x, axes, true);
  const xc = sub(x, mu);
  const rstd = reciprocal(sqrt(add(reduceMean(mul(xc, xc), axes, true), eps)));
  return { xhat: mul(xc, rstd), rstd };
}

function normInputGrad(dxhat: Tensor, xhat: Tensor, rstd: Tensor, axes: number[]): Tensor {
  const m1 = reduceMean(dxhat, axes, true);
  const m2 = reduceMean(mul(dxhat, xhat), axes, true);
  return mul(rstd, sub(sub(dxhat, m1), mul(xhat, m2)));
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
  onnx: (e, { inputs, outputs, attrs }) =>
    e.op("GroupNormalization", inputs, { num_groups: attr.int(attrs.groups), epsilon: attr.float(attrs.eps) }, outputs[0]),
  vjp: ({ g: [g], inputs: [x, scale], attrs }) => {
    const c = x!.shape[1] as number;
    const spatialAxes = x!.shape.map((_, i) => i).filter((i) => i >= 2);
    const perChannel = (t: Tensor) => reshape(t, [c, ...spatialAxes.map(() => 1)]);
    const grouped = (t: Tensor) => reshape(t, [x!.shape[0]!, attrs.groups, -1]);
    const { xhat, rstd } = standardize(grouped(x!), [2], attrs.eps);
    const dxhat = grouped(mul(g!, perChannel(scale!)));
    const dx = reshapeLike(normInputGrad(dxhat, xhat, rstd, [2]), x!);
    const xhatFull = reshapeLike(xhat, x!);
    const batchAndSpatial = [0, ...spatialAxes];
    return [dx, reduceSum(mul(g!, xhatFull), batchAndSpatial), reduceSum(g!, batchAndSpatial)];
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
    const { xhat, rstd } = standardize(x!, [last], attrs.eps);
    const dx = normInputGrad(mul(g!, scale!), xhat, rstd, [last]);
    const lead = x!.shape.map((_, i) => i).slice(0, -1);
    return [dx, reduceSum(mul(g!, xhat), lead), reduceSum(g!, lead)];
  },
});
/** LayerNorm over the last axis. */
export const layerNorm = (x: Tensor, scale: Tensor, bias: Tensor, eps: number): Tensor => layerNormOp([x, scale, bias], { eps })[0]!;

