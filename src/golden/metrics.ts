// Golden kind "metrics": the official TokenizerEvaluator's reconstruction metrics (PSNR, SSIM,
// MSE, MAE per image and their means) and codebook usage / entropy of the token ids. Images and
// ids are streamed in uneven batches, as an evaluation would feed them.

import { HostTensor } from "../engine/host-tensor.js";
import { ConfigError } from "../engine/errors.js";
import type { GoldenCase } from "../io/golden.js";
import { ImageMetrics, ReconstructionMeans } from "../eval/image-metrics.js";
import { CodebookStats } from "../eval/codebook.js";
import { checkOutputs, type Check } from "./report.js";

/** Leading-axis rows [from, to) of a tensor. */
function batch(t: HostTensor, from: number, to: number): HostTensor {
  const per = t.size / t.shape[0]!;
  return new HostTensor(t.dtype, [to - from, ...t.shape.slice(1)], t.data.slice(from * per, to * per));
}

/** Uneven batch boundaries over n rows: one row, then the rest. */
function batches(n: number): [number, number][] {
  return n > 1 ? [[0, 1], [1, n]] : [[0, n]];
}

/** Codebook bits K (2^K codes): from config.num_codebook_entries, else the smallest K that holds every id. */
export function codebookBits(c: GoldenCase, ids: HostTensor): number {
  const entries = c.config.num_codebook_entries;
  if (entries !== undefined) {
    const bits = typeof entries === "number" ? Math.log2(entries) : NaN;
    if (!Number.isInteger(bits) || bits < 1) {
      throw new ConfigError({ op: "golden metrics", scope: `${c.name} config.num_codebook_entries`, expected: "a power of two >= 2 (LFQ codebook 2^K)", got: JSON.stringify(entries) });
    }
    return bits;
  }
  let max = 0;
  for (let i = 0; i < ids.size; i++) max = Math.max(max, ids.at(i));
  return Math.max(1, Math.ceil(Math.log2(max + 1)));
}

async function imageOutputs(real: HostTensor, fake: HostTensor): Promise<Record<string, HostTensor>> {
  const [, ch, h, w] = real.shape as [number, number, number, number];
  const m = new ImageMetrics(ch, h, w);
  try {
    const per = await m.perImage(real, fake);
    const means = new ReconstructionMeans();
    for (const [from, to] of batches(real.shape[0]!)) means.add(await m.perImage(batch(real, from, to), batch(fake, from, to)));
    const r = means.result();
    return {
      psnr_per_image: HostTensor.f64(per.psnr), ssim_per_image: HostTensor.f64(per.ssim),
      ...Object.fromEntries((["psnr", "ssim", "mse", "mae"] as const).map((k) => [k, HostTensor.f64([r[k]], [1])])),
    };
  } finally {
    await m.dispose();
  }
}

async function codebookOutputs(c: GoldenCase, ids: HostTensor): Promise<Record<string, HostTensor>> {
  const cb = new CodebookStats(codebookBits(c, ids));
  try {
    for (const [from, to] of batches(ids.shape[0]!)) await cb.add(batch(ids, from, to));
    const r = await cb.result();
    return { codebook_usage: HostTensor.f64([r.usage], [1]), codebook_entropy: HostTensor.f64([r.entropy], [1]) };
  } finally {
    await cb.dispose();
  }
}

export async function runMetricsCase(c: GoldenCase): Promise<Check[]> {
  const real = c.tensors.get("real"), fake = c.tensors.get("fake"), ids = c.tensors.get("ids");
  const got: Record<string, HostTensor> = {
    ...(real && fake ? await imageOutputs(real, fake) : {}),
    ...(ids ? await codebookOutputs(c, ids) : {}),
  };
  const checks = checkOutputs(c, Object.fromEntries(Object.entries(got).filter(([k]) => c.outputs.includes(k))));
  const missing = c.outputs.filter((n) => !(n in got)).map((n): Check => ({ tensor: n, ok: false, worst: Infinity, detail: "not produced by maskbit" }));
  return [...checks, ...missing];
}
