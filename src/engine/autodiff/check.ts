// Finite-difference checking of VJP rules: compares the analytic gradient of
// L = sum(f(x) * r) (r a fixed random weighting, so every output element matters) with central
// differences, along random directions and along single coordinates.

import { Graph, type Tensor } from "../graph/tensor.js";
import { HostTensor } from "../host-tensor.js";
import { CompiledGraph } from "../runtime/session.js";
import { Rng } from "../rng.js";
import { grad } from "./grad.js";
import { mul, reduceSum, cast } from "../ops/index.js";

export interface GradCheckOptions {
  readonly eps?: number;
  readonly rtol?: number;
  readonly atol?: number;
  /** Random directions per input (default 3) and single coordinates per input (default 4). */
  readonly directions?: number;
  readonly coordinates?: number;
  readonly seed?: number;
}

export interface GradCheckReport {
  readonly worst: number;
  readonly failures: string[];
}

/**
 * Checks d/dx of `f` at the given float32 inputs. Non-float inputs are passed through unchanged
 * and not differentiated.
 */
export async function checkGradients(
  f: (...xs: Tensor[]) => Tensor,
  inputs: readonly HostTensor[],
  opts: GradCheckOptions = {},
): Promise<GradCheckReport> {
  const eps = opts.eps ?? 1e-2, rtol = opts.rtol ?? 2e-2, atol = opts.atol ?? 1e-3;
  const rng = new Rng(opts.seed ?? 1234);
  const g = new Graph();
  const xs = inputs.map((h, i) => g.input(`x${i}`, h.dtype, h.shape));
  const out = f(...xs);
  const weights = HostTensor.f32(Array.from({ length: out.staticShape().reduce((a, b) => a * b, 1) }, () => rng.normal()), out.staticShape());
  const loss = reduceSum(mul(cast(out, "float32"), g.constant(weights)));
  const diffIdx = inputs.map((h, i) => (h.dtype === "float32" ? i : -1)).filter((i) => i >= 0);
  const grads = grad(loss, diffIdx.map((i) => xs[i]!));
  const outputs: Record<string, Tensor> = { loss };
  grads.forEach((gr, k) => (outputs[`g${k}`] = gr));
  const session = await CompiledGraph.create(g, outputs, { threads: 1 });
  const lossOnly = await CompiledGraph.create(g, { loss }, { threads: 1 });

  const feeds = (vals: readonly HostTensor[]) => Object.fromEntries(vals.map((v, i) => [`x${i}`, v]));
  const base = await session.run(feeds(inputs));
  const evalLoss = async (vals: HostTensor[]) => (await lossOnly.run(feeds(vals))).loss!.at(0);

  const failures: string[] = [];
  let worst = 0;
  const compare = (label: string, analytic: number, numeric: number) => {
    const err = Math.abs(analytic - numeric);
    const tol = atol + rtol * Math.max(Math.abs(analytic), Math.abs(numeric));
    worst = Math.max(worst, err / tol);
    if (!(err <= tol)) failures.push(`${label}: analytic ${analytic.toExponential(4)} vs numeric ${numeric.toExponential(4)}`);
  };

  for (const [k, i] of diffIdx.entries()) {
    const x = inputs[i]! as HostTensor<Float32Array>;
    const gx = base[`g${k}`]! as HostTensor<Float32Array>;
    const probe = async (dir: Float32Array) => {
      const plus = x.clone(), minus = x.clone();
      for (let j = 0; j < dir.length; j++) {
        plus.data[j]! += eps * dir[j]!;
        minus.data[j]! -= eps * dir[j]!;
      }
      const swap = (v: HostTensor) => inputs.map((h, m) => (m === i ? v : h));
      return ((await evalLoss(swap(plus))) - (await evalLoss(swap(minus)))) / (2 * eps);
    };
    for (let d = 0; d < (opts.directions ?? 3); d++) {
      const dir = Float32Array.from({ length: x.size }, () => rng.normal());
      let analytic = 0;
      for (let j = 0; j < dir.length; j++) analytic += gx.data[j]! * dir[j]!;
      compare(`input ${i} direction ${d}`, analytic, await probe(dir));
    }
    for (let c = 0; c < Math.min(opts.coordinates ?? 4, x.size); c++) {
      const j = rng.int(x.size);
      const dir = new Float32Array(x.size);
      dir[j] = 1;
      compare(`input ${i} element ${j}`, gx.data[j]!, await probe(dir));
    }
  }
  await session.dispose();
  await lossOnly.dispose();
  return { worst, failures };
}
