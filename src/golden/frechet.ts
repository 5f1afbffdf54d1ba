// Golden kind "fid": the Fréchet distance on the official GeneratorEvaluator path. Feature
// statistics (mu, sigma with N - 1) streamed in float64 from both feature sets, tr sqrtm(sA sB),
// and the distance, both from maskbit's own statistics and from the case's stored ones (what a
// reference statistics file would hold).

import { HostTensor } from "../engine/host-tensor.js";
import { FeedError } from "../engine/errors.js";
import type { GoldenCase } from "../io/golden.js";
import { FeatureStats, type GaussianStats } from "../eval/feature-stats.js";
import { frechetDistance, type FrechetResult } from "../eval/frechet.js";
import { checkOutputs, type Check } from "./report.js";

/** Batch sizes the features are streamed in: uneven, so a batch boundary never hides an error. */
const BATCH: Readonly<Record<string, number>> = { A: 128, B: 100 };

function rows(t: HostTensor, from: number, to: number): HostTensor {
  const d = t.shape[1]!;
  return new HostTensor(t.dtype, [to - from, d], t.data.slice(from * d, to * d));
}

async function streamedGaussian(features: HostTensor, batch: number): Promise<GaussianStats> {
  const s = FeatureStats.empty(features.shape[1]!);
  try {
    const n = features.shape[0]!;
    for (let i = 0; i < n; i += batch) await s.add(rows(features, i, Math.min(i + batch, n)));
    return await s.gaussian();
  } finally {
    await s.dispose();
  }
}

const scalar64 = (v: number): HostTensor => HostTensor.f64([v], [1]);

/** The distance outputs of one Fréchet result: the official path, the scipy one and the eigenvalue route agree. */
function distanceOutputs(r: FrechetResult): Record<string, HostTensor> {
  const fid = scalar64(r.fid);
  return { trace_sqrt_product: scalar64(r.traceSqrtProduct), fid, fid_scipy_sqrtm: fid, fid_eigvals: fid };
}

export async function runFrechetCase(c: GoldenCase): Promise<Check[]> {
  const got: Record<string, HostTensor> = {};
  const own: Partial<Record<"A" | "B", GaussianStats>> = {};
  for (const side of ["A", "B"] as const) {
    const features = c.tensors.get(`features_${side}`);
    if (!features || features.shape.length !== 2) {
      throw new FeedError({ op: "golden fid", scope: c.name, expected: `features_${side} [N, d]`, got: features ? `shape [${features.shape.join(", ")}]` : "nothing" });
    }
    const s = await streamedGaussian(features, BATCH[side]!);
    own[side] = s;
    got[`mu_${side}`] = s.mu;
    got[`sigma_${side}`] = s.sigma;
  }
  Object.assign(got, distanceOutputs(await frechetDistance(own.A!, own.B!)));
  const checks = checkOutputs(c, Object.fromEntries(Object.entries(got).filter(([k]) => c.outputs.includes(k))));

  // The evaluator's own situation: reference statistics loaded from a file, not recomputed.
  const stored = (side: string): GaussianStats | undefined => {
    const mu = c.tensors.get(`mu_${side}`), sigma = c.tensors.get(`sigma_${side}`);
    return mu?.dtype === "float64" && sigma?.dtype === "float64" ? { mu, sigma } as GaussianStats : undefined;
  };
  const [refA, refB] = [stored("A"), stored("B")];
  if (refA && refB) {
    const fromStored = distanceOutputs(await frechetDistance(refA, refB));
    const wanted = Object.fromEntries(Object.entries(fromStored).filter(([k]) => c.outputs.includes(k)));
    checks.push(...checkOutputs(c, wanted).map((k) => ({ ...k, tensor: `${k.tensor} (from the stored mu/sigma)` })));
  }
  const missing = c.outputs.filter((n) => !(n in got)).map((n): Check => ({ tensor: n, ok: false, worst: Infinity, detail: "not produced by maskbit" }));
  return [...checks, ...missing];
}
