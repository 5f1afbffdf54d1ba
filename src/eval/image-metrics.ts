// Reconstruction metrics of the official TokenizerEvaluator (spec 4.2), per image, as graph ops:
// - PSNR = 10 log10(1 / (mean((fake - real)^2) + 1e-10)), data range 1, mean in float64;
// - SSIM with an 11x11 Gaussian window (sigma 1.5, normalised, float32), both images reflect-
//   padded by 5, depthwise valid convolution of x, y, x^2, y^2, xy (x = fake, y = real) in
//   float32, the usual map with C1 = 0.01^2, C2 = 0.03^2, averaged per image in float64;
// - MSE and MAE per image in float64.
// Reported values are means over images of the per-image values (ReconstructionMeans).

import type { Graph, Tensor } from "../engine/graph/tensor.js";
import { HostTensor } from "../engine/host-tensor.js";
import type { SessionOptions } from "../engine/runtime/session.js";
import { abs, add, cast, concat, conv2d, div, log, mul, pad, reduceMean, slice, square, sub } from "../engine/ops/index.js";
import { FeedError, fmtShape } from "../engine/errors.js";
import { LazyGraph } from "./graph-runner.js";

export const SSIM_WINDOW = 11;
export const SSIM_SIGMA = 1.5;
const C1 = 0.01 ** 2, C2 = 0.03 ** 2;
const PSNR_EPS = 1e-10;

export interface PerImageMetrics {
  readonly psnr: Float64Array;
  readonly ssim: Float64Array;
  readonly mse: Float64Array;
  readonly mae: Float64Array;
}
export type MetricName = keyof PerImageMetrics;
const NAMES: readonly MetricName[] = ["psnr", "ssim", "mse", "mae"];

/** The normalised 1-D Gaussian g_k ∝ exp(-0.5 ((k - 5) / 1.5)^2), k = 0..10, in float32. */
export function gaussianWindow(size = SSIM_WINDOW, sigma = SSIM_SIGMA): Float32Array {
  const g = Float32Array.from({ length: size }, (_, k) => Math.exp(-0.5 * ((k - (size - 1) / 2) / sigma) ** 2));
  const total = g.reduce((s, v) => s + v, 0);
  return g.map((v) => v / total);
}

/** Per-image SSIM map means, x and y float32 [B, C, H, W] in [0, 1]. */
export function ssimPerImage(x: Tensor, y: Tensor): Tensor {
  const c = x.shape[1] as number, r = (SSIM_WINDOW - 1) / 2;
  const g1 = gaussianWindow();
  const kernel = new Float32Array(5 * c * SSIM_WINDOW * SSIM_WINDOW);
  for (let ch = 0; ch < 5 * c; ch++) {
    for (let i = 0; i < SSIM_WINDOW; i++) for (let j = 0; j < SSIM_WINDOW; j++) kernel[(ch * SSIM_WINDOW + i) * SSIM_WINDOW + j] = g1[i]! * g1[j]!;
  }
  const w = x.graph.constant(new HostTensor("float32", [5 * c, 1, SSIM_WINDOW, SSIM_WINDOW], kernel));
  const padded = (t: Tensor) => pad(t, [0, 0, r, r, 0, 0, r, r], "reflect");
  const [xp, yp] = [padded(x), padded(y)];
  // One grouped convolution filters all five maps: channel blocks [x, y, x^2, y^2, xy].
  const stacked = concat([xp, yp, mul(xp, xp), mul(yp, yp), mul(xp, yp)], 1);
  const filtered = conv2d(stacked, w, { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 5 * c });
  const part = (k: number) => slice(filtered, [1], [k * c], [(k + 1) * c]);
  const [muX, muY, exx, eyy, exy] = [0, 1, 2, 3, 4].map(part) as [Tensor, Tensor, Tensor, Tensor, Tensor];
  const muXY = mul(muX, muY), muX2 = mul(muX, muX), muY2 = mul(muY, muY);
  const sxx = sub(exx, muX2), syy = sub(eyy, muY2), sxy = sub(exy, muXY);
  const num = mul(add(mul(muXY, 2), C1), add(mul(sxy, 2), C2));
  const den = mul(add(add(muX2, muY2), C1), add(add(sxx, syy), C2));
  return reduceMean(cast(div(num, den), "float64"), [1, 2, 3]);
}

function buildMetrics(g: Graph, c: number, h: number, w: number): Record<MetricName, Tensor> {
  const real = g.input("real", "float32", ["B", c, h, w]);
  const fake = g.input("fake", "float32", ["B", c, h, w]);
  const diff = sub(cast(fake, "float64"), cast(real, "float64"));
  const mse = reduceMean(square(diff), [1, 2, 3]);
  const psnr = mul(log(add(mse, PSNR_EPS)), -10 / Math.LN10);
  return { psnr, ssim: ssimPerImage(fake, real), mse, mae: reduceMean(abs(diff), [1, 2, 3]) };
}

/** Per-image PSNR / SSIM / MSE / MAE for batches of one image size; owns its ORT session. */
export class ImageMetrics {
  private readonly graph: LazyGraph;

  constructor(readonly channels: number, readonly height: number, readonly width: number, session: SessionOptions = {}) {
    this.graph = new LazyGraph((g) => buildMetrics(g, channels, height, width), session);
  }

  /** real, fake: float32 [B, C, H, W] in [0, 1]. */
  async perImage(real: HostTensor, fake: HostTensor): Promise<PerImageMetrics> {
    const want = `float32[B, ${this.channels}, ${this.height}, ${this.width}]`;
    for (const [name, t] of [["real", real], ["fake", fake]] as const) {
      const ok = t.dtype === "float32" && t.shape.length === 4 && t.shape[0] === real.shape[0]
        && t.shape[1] === this.channels && t.shape[2] === this.height && t.shape[3] === this.width;
      if (!ok) throw new FeedError({ op: "ImageMetrics.perImage", scope: name, expected: `${want} (real and fake alike)`, got: `${t.dtype}${fmtShape(t.shape)}` });
    }
    const out = await this.graph.run({ real, fake });
    return Object.fromEntries(NAMES.map((k) => [k, out[k]!.data as Float64Array])) as unknown as PerImageMetrics;
  }

  async dispose(): Promise<void> {
    await this.graph.dispose();
  }
}

/** Running means of per-image metrics over an evaluation (float64 sums of a few numbers per batch). */
export class ReconstructionMeans {
  private readonly sums: Record<MetricName, number> = { psnr: 0, ssim: 0, mse: 0, mae: 0 };
  private n = 0;

  add(m: PerImageMetrics): void {
    for (const k of NAMES) for (const v of m[k]) this.sums[k] += v;
    this.n += m.psnr.length;
  }

  get count(): number { return this.n; }

  result(): Record<MetricName, number> {
    if (this.n === 0) throw new FeedError({ op: "ReconstructionMeans.result", expected: "at least one image", got: "none" });
    return Object.fromEntries(NAMES.map((k) => [k, this.sums[k] / this.n])) as Record<MetricName, number>;
  }
}
