// 2-D convolution and its transpose, NCHW / OIHW, explicit (possibly asymmetric) pads.
// Backward as ordinary ops (see engine.md): dX = a conv with the flipped kernel (stride 1) or
// ConvTranspose(dY, W); dW = im2col by Gather and one batched GEMM (see convWeightGrad).

import { defineOp, sameDType, type InferContext } from "./define-op.js";
import type { Dim, Tensor } from "../graph/tensor.js";
import { attr } from "../onnx/emitter.js";
import { fmtShape } from "../errors.js";
import { reduceSum, reduceSumByAxis } from "./reduce.js";
import { concat, pad, reshape, slice, transpose, transposeLast2, unsqueeze } from "./shape-ops.js";
import { matmul } from "./matmul.js";
import { gather } from "./gather.js";
import { HostTensor } from "../host-tensor.js";

export interface ConvAttrs {
  readonly strides: readonly [number, number];
  /** [top, left, bottom, right] */
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
  readonly group: number;
}

function spatial(ctx: InferContext, x: Tensor, what: string): [number, number] {
  const h = x.shape[2], w = x.shape[3];
  if (typeof h !== "number" || typeof w !== "number") ctx.shapeError(`static spatial dims for ${what}`, fmtShape(x.shape));
  return [h as number, w as number];
}

const convOut = (size: number, k: number, s: number, d: number, lo: number, hi: number) => Math.floor((size + lo + hi - d * (k - 1) - 1) / s) + 1;

const conv2dOp = defineOp<ConvAttrs>({
  name: "conv2d",
  infer: (ins, a, ctx) => {
    const [x, w, b] = ins as [Tensor, Tensor, Tensor | undefined];
    // ONNX Runtime's CPU provider has no float64 Conv kernels: refuse at build time, not at session creation.
    const dtype = sameDType(ctx, ins, ["float32"]);
    if (x.rank !== 4 || w.rank !== 4) ctx.shapeError("x [B, C, H, W] and w [O, C/group, kH, kW]", `x ${fmtShape(x.shape)}, w ${fmtShape(w.shape)}`);
    const [h, wd] = spatial(ctx, x, "x");
    const [o, , kh, kw] = w.shape as number[];
    // In the weight-gradient conv the channel dim is the (possibly symbolic) batch: "B" times
    // group reads "B*group", as reshape names it.
    const ci: Dim = w.shape[1]!;
    const cin: Dim = typeof ci === "number" ? ci * a.group : a.group === 1 ? ci : `${ci}*${a.group}`;
    if (x.shape[1] !== cin) ctx.shapeError(`x with ${cin} channels (w ${fmtShape(w.shape)}, group ${a.group})`, `x ${fmtShape(x.shape)}`);
    if (o! % a.group !== 0) ctx.shapeError(`output channels divisible by group ${a.group}`, `${o}`);
    if (b && (b.rank !== 1 || b.shape[0] !== o)) ctx.shapeError(`bias [${o}]`, fmtShape(b.shape));
    const [t, l, bt, r] = a.pads;
    const ho = convOut(h, kh!, a.strides[0], a.dilations[0], t, bt), wo = convOut(wd, kw!, a.strides[1], a.dilations[1], l, r);
    if (ho < 1 || wo < 1) ctx.shapeError("a kernel that fits the padded input", `x ${fmtShape(x.shape)}, w ${fmtShape(w.shape)}, pads [${a.pads}]`);
    return [{ dtype, shape: [x.shape[0]!, o!, ho, wo] }];
  },
  onnx: (e, { inputs, outputs, attrs }) =>
    e.op("Conv", inputs, { strides: attr.ints(attrs.strides), pads: attr.ints([attrs.pads[0], attrs.pads[1], attrs.pads[2], attrs.pads[3]]), dilations: attr.ints(attrs.dilations), group: attr.int(attrs.group) }, outputs[0]),
  vjp: ({ g: [g], inputs: [x, w, b], attrs }) => [
    convInputGrad(g!, w!, attrs, x!),
    convWeightGrad(x!, g!, attrs, w!),
    ...(b ? [reduceSumByAxis(g!, [0, 2, 3])] : []),
  ],
});

/**
 * dX of a conv. For stride 1 (the common case) it is an ordinary conv of dY with the kernel's
 * in/out channels swapped and its taps reversed, which ORT runs faster than ConvTranspose;
 * otherwise the transposed conv of dY, padded/cropped so it lands exactly on x's extent.
 */
function convInputGrad(g: Tensor, w: Tensor, a: ConvAttrs, x: Tensor): Tensor {
  const [h, wd] = [x.shape[2] as number, x.shape[3] as number];
  const [o, cg, kh, kw] = w.shape as number[];
  const [ho, wo] = [g.shape[2] as number, g.shape[3] as number];
  const [t, l, b, r] = a.pads;
  const flippedPads = [kh! - 1 - t, kw! - 1 - l, kh! - 1 - b, kw! - 1 - r] as const;
  if (a.group === 1 && a.strides[0] === 1 && a.strides[1] === 1 && a.dilations[0] === 1 && a.dilations[1] === 1 && flippedPads.every((p) => p >= 0)) {
    const reversed = w.graph.constant(HostTensor.i64(Array.from({ length: kh! * kw! }, (_, i) => kh! * kw! - 1 - i)));
    const wFlipped = reshape(transpose(gather(reshape(w, [o!, cg!, kh! * kw!]), reversed, 2), [1, 0, 2]), [cg!, o!, kh!, kw!]);
    return conv2d(g, wFlipped, { strides: [1, 1], pads: flippedPads, dilations: [1, 1], group: 1 });
  }
  const fit = (size: number, out: number, k: number, s: number, d: number, lo: number) => {
    const extra = (out - 1) * s + d * (k - 1) + 1 - lo - size;
    return extra >= 0 ? { end: extra, outPad: 0 } : { end: 0, outPad: -extra };
  };
  const fh = fit(h, ho, kh!, a.strides[0], a.dilations[0], a.pads[0]);
  const fw = fit(wd, wo, kw!, a.strides[1], a.dilations[1], a.pads[1]);
  return convTranspose2d(g, w, { ...a, pads: [a.pads[0], a.pads[1], fh.end, fw.end], outputPadding: [fh.outPad, fw.outPad] });
}

/**
 * dW of a conv. Group 1 (any stride, dilation, pads): im2col by one Gather, then one GEMM.
 * x is viewed channels-last [N, H*W, C] with one zero row appended, and a constant index table
 * [Ho*Wo, kh*kw] names, for every output position and tap, the input row it reads (the zero row
 * where the tap falls on padding). Gathering whole rows of C values is a block copy, and the
 * columns are then the rows of one [N*Ho*Wo, taps*C] matrix, so dW is a single GEMM with the
 * batch and all positions as its long inner dimension: dY^T [O, N*P] x cols. When the columns
 * would be large they are built a few kernel rows at a time, so the transient stays bounded.
 * Grouped convs correlate x and dY over the batch (the batch plays the channel role) and crop.
 */
function convWeightGrad(x: Tensor, g: Tensor, a: ConvAttrs, w: Tensor): Tensor {
  if (a.group === 1) return im2colWeightGrad(x, g, a, w);
  const [o, cg, kh, kw] = w.shape as number[];
  const grp = a.group;
  const [h, wd] = [x.shape[2]!, x.shape[3]!];
  const [ho, wo] = [g.shape[2]!, g.shape[3]!];
  // x: [N, grp*cg, H, W] -> [cg, grp*N, H, W]; dY: [N, grp*og, Ho, Wo] -> [grp*og, N, Ho, Wo].
  const xs = reshape(transpose(reshape(x, [x.shape[0]!, grp, cg!, h, wd]), [2, 1, 0, 3, 4]), [cg!, -1, h, wd]);
  const gs = reshape(transpose(reshape(g, [g.shape[0]!, grp, o! / grp, ho, wo]), [1, 2, 0, 3, 4]), [o!, -1, ho, wo]);
  const full = conv2d(xs, gs, { strides: a.dilations, pads: a.pads, dilations: a.strides, group: grp });
  const cropped = full.shape[2] === kh && full.shape[3] === kw ? full : slice(full, [2, 3], [0, 0], [kh!, kw!]);
  return transpose(cropped, [1, 0, 2, 3]);
}

/** Floats of im2col columns per sample above which they are built a few kernel rows at a time. */
export const IM2COL_CHUNK_FLOATS = 1 << 22; // 16 MB

function im2colWeightGrad(x: Tensor, g: Tensor, a: ConvAttrs, w: Tensor): Tensor {
  const [o, c, kh, kw] = w.shape as number[];
  const [n, h, wd] = [x.shape[0]!, x.shape[2] as number, x.shape[3] as number];
  const [ho, wo] = [g.shape[2] as number, g.shape[3] as number];
  const p = ho * wo, zeroRow = h * wd;
  // rowsPerChunk kernel rows per Gather: all of them unless one sample's columns exceed the bound.
  const rowsPerChunk = Math.max(1, Math.min(kh!, Math.floor(IM2COL_CHUNK_FLOATS / (kw! * p * c!))));
  const tapIndex = (i: number, j: number, r: number, q: number) => {
    const y = r * a.strides[0] + i * a.dilations[0] - a.pads[0];
    const xx = q * a.strides[1] + j * a.dilations[1] - a.pads[1];
    return y >= 0 && y < h && xx >= 0 && xx < wd ? y * wd + xx : zeroRow;
  };
  // Index tables [P, taps]: output position major, so the gathered columns [N, P, taps, C] are
  // the rows of one [N*P, taps*C] matrix.
  const tables: { taps: number; idx: number[] }[] = [];
  let padded = false;
  for (let i0 = 0; i0 < kh!; i0 += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, kh! - i0), idx: number[] = [];
    for (let r = 0; r < ho; r++) for (let q = 0; q < wo; q++) for (let i = i0; i < i0 + rows; i++) for (let j = 0; j < kw!; j++) idx.push(tapIndex(i, j, r, q));
    padded ||= idx.includes(zeroRow);
    tables.push({ taps: rows * kw!, idx });
  }
  const channelsLast = transposeLast2(reshape(x, [n, c!, zeroRow])); // [N, H*W, C]
  const source = padded ? pad(channelsLast, [0, 0, 0, 0, 1, 0]) : channelsLast;
  const dyT = reshape(transpose(reshape(g, [n, o!, p]), [1, 0, 2]), [o!, -1]); // [O, N*P]
  // A table that reads every input row once, in order (a 1x1 stride-1 conv), needs no copy.
  const isIdentity = (idx: number[]) => idx.length === zeroRow && idx.every((v, i) => v === i);
  const parts = tables.map(({ taps, idx }) => {
    const cols = isIdentity(idx) ? source : gather(source, x.graph.constant(HostTensor.i64(idx, [p, taps])), 1); // [N, P, taps, C]
    return matmul(dyT, reshape(cols, [-1, taps * c!])); // [O, taps*C]
  });
  const dw = parts.length === 1 ? parts[0]! : concat(parts, 1);
  return reshape(transpose(reshape(dw, [o!, kh! * kw!, c!]), [0, 2, 1]), [o!, c!, kh!, kw!]);
}

export interface ConvTransposeAttrs extends ConvAttrs {
  readonly outputPadding: readonly [number, number];
}

const convTranspose2dOp = defineOp<ConvTransposeAttrs>({
  name: "convTranspose2d",
  infer: (ins, a, ctx) => {
    const [x, w] = ins as [Tensor, Tensor];
    // ONNX Runtime's CPU provider has no float64 Conv kernels: refuse at build time, not at session creation.
    const dtype = sameDType(ctx, ins, ["float32"]);
    if (x.rank !== 4 || w.rank !== 4 || x.shape[1] !== w.shape[0]) ctx.shapeError("x [B, C, H, W] and w [C, O/group, kH, kW]", `x ${fmtShape(x.shape)}, w ${fmtShape(w.shape)}`);
    const [h, wd] = spatial(ctx, x, "x");
    const [, og, kh, kw] = w.shape as number[];
    const out = (size: number, k: number, i: 0 | 1) =>
      (size - 1) * a.strides[i] + a.dilations[i] * (k - 1) + 1 - a.pads[i] - a.pads[i + 2]! + a.outputPadding[i];
    return [{ dtype, shape: [x.shape[0]!, og! * a.group, out(h, kh!, 0), out(wd, kw!, 1)] }];
  },
  onnx: (e, { inputs, outputs, attrs }) =>
    e.op("ConvTranspose", inputs, {
      strides: attr.ints(attrs.strides), pads: attr.ints([...attrs.pads]), dilations: attr.ints(attrs.dilations),
      group: attr.int(attrs.group), output_padding: attr.ints(attrs.outputPadding),
    }, outputs[0]),
  // y = conv^T(x, w) is the adjoint of a conv, so dX is that conv of dY and dW is the conv weight
  // gradient with the roles of input and output exchanged.
  vjp: ({ g: [g], inputs: [x, w], attrs }) => {
    const convAttrs: ConvAttrs = { strides: attrs.strides, pads: attrs.pads, dilations: attrs.dilations, group: attrs.group };
    return [conv2d(g!, w!, convAttrs), convWeightGrad(g!, x!, convAttrs, w!)];
  },
});

export const conv2d = (x: Tensor, w: Tensor, a: ConvAttrs, bias?: Tensor): Tensor => conv2dOp(bias ? [x, w, bias] : [x, w], a)[0]!;
export const convTranspose2d = (x: Tensor, w: Tensor, a: ConvTransposeAttrs): Tensor => convTranspose2dOp([x, w], a)[0]!;
