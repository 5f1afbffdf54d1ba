// Final scores from the merged sums of an evaluation (EvalSums): each score is computed once, from
// the sums of all shards, by the metric classes themselves.

import { HostTensor } from "../engine/host-tensor.js";
import type { SessionOptions } from "../engine/runtime/session.js";
import { CodebookStats, type CodebookResult } from "./codebook.js";
import type { FeatureStats } from "./feature-stats.js";
import { frechetDistance } from "./frechet.js";
import { InceptionScore, type InceptionScoreOptions } from "./inception-score.js";

/** Fréchet distance between the Gaussians of two feature sums. */
export async function frechetOfStats(a: FeatureStats, b: FeatureStats, session: SessionOptions = {}): Promise<number> {
  return (await frechetDistance(await a.gaussian(), await b.gaussian(), { session })).fid;
}

/** Usage and entropy of a per-code histogram (float64 counts of 2^bits codes). */
export async function codebookOfHistogram(bits: number, histogram: Float64Array, session: SessionOptions = {}): Promise<CodebookResult> {
  // CodebookStats has no constructor from counts, so the histogram is replayed as ids (code c,
  // count_c times): integer counts, so the rebuilt histogram is exact. Chunks bound the memory.
  const stats = new CodebookStats(bits, session);
  try {
    const chunk = 1 << 20;
    let ids = new BigInt64Array(chunk), fill = 0;
    for (let c = 0; c < histogram.length; c++) {
      for (let k = 0; k < histogram[c]!; k++) {
        ids[fill++] = BigInt(c);
        if (fill === chunk) {
          await stats.add(new HostTensor("int64", [fill], ids));
          ids = new BigInt64Array(chunk);
          fill = 0;
        }
      }
    }
    if (fill > 0) await stats.add(new HostTensor("int64", [fill], ids.slice(0, fill)));
    return await stats.result();
  } finally {
    await stats.dispose();
  }
}

/** Inception Score (mean, std over splits) of logits [N, C] in their stored order. */
export async function inceptionScoreOfLogits(logits: HostTensor, options: InceptionScoreOptions, session: SessionOptions = {}): Promise<{ mean: number; std: number }> {
  const is = new InceptionScore(logits.shape[1]!, options, session);
  try {
    await is.add(logits);
    const r = await is.result();
    return { mean: r.mean, std: r.std };
  } finally {
    await is.dispose();
  }
}

/** Gray images [B, 1, H, W] repeated to RGB (Inception takes 3 channels); RGB passes through. */
export function toRgb(images: HostTensor): HostTensor {
  const [b, c, h, w] = images.shape as [number, number, number, number];
  if (c === 3) return images;
  const per = h * w, src = images.data as Float32Array, out = new Float32Array(b * 3 * per);
  for (let i = 0; i < b; i++) for (let k = 0; k < 3; k++) out.set(src.subarray(i * per, (i + 1) * per), (i * 3 + k) * per);
  return new HostTensor("float32", [b, 3, h, w], out);
}
