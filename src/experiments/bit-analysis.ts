// The measurements behind the bit-structure experiment, free of training: flip a bit of every
// token's id, decode, and compare with the unflipped decode; and the nearest-neighbour structure
// of the decoded codebook in Hamming space. Works for any tokenizer whose ids have K bits (LFQ:
// the sign bits; VQ: the binary expansion of the table index).

import { HostTensor } from "../engine/host-tensor.js";
import { Rng } from "../engine/rng.js";
import type { InDomainClassifier } from "../eval/classifier.js";
import type { Tokenizer } from "../models/tokenizer/tokenizer.js";

export type Perturbation = { readonly kind: "bit"; readonly bit: number } | { readonly kind: "random-bit" } | { readonly kind: "random-code" };

export interface FlipEffect {
  readonly perturbation: string;
  /** Mean over images of the RMS pixel change (images in [0, 1]). */
  readonly pixelRms: number;
  /** Mean L2 distance of classifier features, divided by the mean distance between two different base images' features. */
  readonly featureDistance: number;
  /** Fraction of images whose predicted class changes. */
  readonly classFlips: number;
}

export const perturbationName = (p: Perturbation): string => (p.kind === "bit" ? `bit ${p.bit}` : p.kind);

/** ids with the perturbation applied to every token (seeded for the random kinds). */
export function perturbIds(ids: HostTensor, bits: number, p: Perturbation, seed: number): HostTensor {
  const src = ids.data as BigInt64Array, out = new BigInt64Array(src.length);
  const rng = new Rng(seed);
  for (let i = 0; i < src.length; i++) {
    if (p.kind === "bit") out[i] = src[i]! ^ (1n << BigInt(p.bit));
    else if (p.kind === "random-bit") out[i] = src[i]! ^ (1n << BigInt(rng.int(bits)));
    else out[i] = BigInt(rng.int(2 ** bits));
  }
  return new HostTensor("int64", ids.shape, out);
}

function featureRows(f: HostTensor): Float32Array[] {
  const [n, d] = f.shape as [number, number];
  return Array.from({ length: n }, (_, i) => (f.data as Float32Array).subarray(i * d, (i + 1) * d));
}

const l2 = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
};

export interface FlipStudy {
  readonly bits: number;
  readonly effects: readonly FlipEffect[];
  /** Decoded images of the first image: [base, bit 0 flipped, ..., bit K-1 flipped]. */
  readonly firstImageRow: HostTensor;
}

/** Every single-bit plane, then a random bit per token, then a random code per token. */
export async function flipStudy(tokenizer: Tokenizer, classifier: InDomainClassifier, images: HostTensor, bits: number, seed: number): Promise<FlipStudy> {
  const { ids } = await tokenizer.encode(images);
  const base = await tokenizer.decode(ids, { clamp: true });
  const baseOut = await classifier.run(base);
  const baseFeat = featureRows(baseOut.features);
  // Scale: the mean feature distance between consecutive (different) base images.
  let scale = 0;
  for (let i = 0; i < baseFeat.length; i++) scale += l2(baseFeat[i]!, baseFeat[(i + 1) % baseFeat.length]!);
  scale = scale / baseFeat.length || 1;
  const per = base.size / base.shape[0]!;
  const perturbations: Perturbation[] = [...Array.from({ length: bits }, (_, bit) => ({ kind: "bit", bit }) as const), { kind: "random-bit" }, { kind: "random-code" }];
  const effects: FlipEffect[] = [];
  const row: Float32Array[] = [(base.data as Float32Array).slice(0, per)];
  for (const p of perturbations) {
    const decoded = await tokenizer.decode(perturbIds(ids, bits, p, seed), { clamp: true });
    const out = await classifier.run(decoded);
    const feat = featureRows(out.features);
    let pixel = 0, feature = 0, flips = 0;
    const n = base.shape[0]!;
    for (let i = 0; i < n; i++) {
      const a = (base.data as Float32Array).subarray(i * per, (i + 1) * per), b = (decoded.data as Float32Array).subarray(i * per, (i + 1) * per);
      pixel += l2(a, b) / Math.sqrt(per);
      feature += l2(baseFeat[i]!, feat[i]!) / scale;
      if (out.predictions.at(i) !== baseOut.predictions.at(i)) flips++;
    }
    effects.push({ perturbation: perturbationName(p), pixelRms: pixel / n, featureDistance: feature / n, classFlips: flips / n });
    if (p.kind === "bit") row.push((decoded.data as Float32Array).slice(0, per));
  }
  const [, c, h, w] = base.shape as [number, number, number, number];
  const flat = new Float32Array(row.length * per);
  row.forEach((r, i) => flat.set(r, i * per));
  return { bits, effects, firstImageRow: new HostTensor("float32", [row.length, c, h, w], flat) };
}

export interface NeighbourStudy {
  /** Codes analysed: those used on the evaluation images (every code would include dead VQ rows). */
  readonly codes: number;
  /** Mean Hamming distance (in id bits) from each code to the code whose decoded image is nearest. */
  readonly meanHammingToNearest: number;
  readonly fractionNearestAtHamming1: number;
  /** The same mean for a uniformly random other code: what no structure gives. */
  readonly chanceHamming: number;
  /** Spearman correlation of Hamming distance and decoded-image L2 over all pairs (or a sample). */
  readonly spearmanHammingVsDecoded: number;
  /** Mean decoded-image L2 per Hamming distance 1..K (NaN where no pair has that distance). */
  readonly decodedDistanceByHamming: readonly number[];
}

const popcount = (x: number): number => {
  let n = 0;
  for (let v = x; v; v &= v - 1) n++;
  return n;
};

/**
 * Decodes each used code as a constant token grid and asks, per code, which other code decodes
 * nearest in pixels, and how far apart the two ids are in Hamming distance.
 */
export async function neighbourStudy(tokenizer: Tokenizer, usedIds: readonly number[], bits: number, grid: [number, number], seed: number, spearman: (x: readonly number[], y: readonly number[]) => number): Promise<NeighbourStudy> {
  const codes = [...new Set(usedIds)].sort((a, b) => a - b);
  const vectors: Float32Array[] = [];
  const chunk = 64, cells = grid[0] * grid[1];
  for (let s = 0; s < codes.length; s += chunk) {
    const part = codes.slice(s, s + chunk);
    const ids = new BigInt64Array(part.length * cells);
    part.forEach((c, i) => ids.fill(BigInt(c), i * cells, (i + 1) * cells));
    const images = await tokenizer.decode(new HostTensor("int64", [part.length, grid[0], grid[1]], ids), { clamp: true });
    const per = images.size / part.length;
    for (let i = 0; i < part.length; i++) vectors.push((images.data as Float32Array).slice(i * per, (i + 1) * per));
  }
  const n = codes.length;
  let hammingSum = 0, ones = 0, chance = 0;
  const byHamming = new Float64Array(bits + 1), countByHamming = new Float64Array(bits + 1);
  const hx: number[] = [], dy: number[] = [];
  const rng = new Rng(seed);
  const sampleRate = Math.min(1, 20_000 / Math.max(1, (n * (n - 1)) / 2));
  for (let i = 0; i < n; i++) {
    let best = Infinity, bestJ = -1, chanceRow = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const d = l2(vectors[i]!, vectors[j]!);
      const hd = popcount(codes[i]! ^ codes[j]!);
      chanceRow += hd;
      if (d < best) { best = d; bestJ = j; }
      if (j > i) {
        byHamming[hd]! += d;
        countByHamming[hd]!++;
        if (rng.uniform() < sampleRate) { hx.push(hd); dy.push(d); }
      }
    }
    if (bestJ >= 0) {
      const hd = popcount(codes[i]! ^ codes[bestJ]!);
      hammingSum += hd;
      if (hd === 1) ones++;
      chance += chanceRow / (n - 1);
    }
  }
  return {
    codes: n,
    meanHammingToNearest: n > 1 ? hammingSum / n : NaN,
    fractionNearestAtHamming1: n > 1 ? ones / n : NaN,
    chanceHamming: n > 1 ? chance / n : NaN,
    spearmanHammingVsDecoded: hx.length > 2 ? spearman(hx, dy) : NaN,
    decodedDistanceByHamming: Array.from({ length: bits }, (_, k) => (countByHamming[k + 1]! ? byHamming[k + 1]! / countByHamming[k + 1]! : NaN)),
  };
}
