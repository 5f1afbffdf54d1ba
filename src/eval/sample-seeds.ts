// Per-sample randomness for evaluation: sample i of a run draws every random number of its
// decoding from a stream seeded by (run seed, i, step) alone, so its image does not depend on
// which batch or shard it lands in. Any split of the N samples into shards and batches gives the
// same N images, as the official evaluation's per-sample seeding does. (Generator.sample with a
// seed draws in-graph from one seed per batch, which ties samples to their batch.)

import { HostTensor } from "../engine/host-tensor.js";
import { Rng } from "../engine/rng.js";
import type { RandomSource } from "../models/generator/sampler.js";

/** The seed of global sample i (and decoding step s): distinct (seed, i, s) give unrelated streams. */
export const sampleStepSeed = (seed: number, index: number, step: number): number =>
  (((seed * 1_000_003 + index) % 2 ** 31) * 4099 + step * 2_654_435_761) % 2 ** 32;

/** A uniform in (0, 1) exactly representable in float32: a bin midpoint (2k + 1) / 2^24, k < 2^23. */
const openUniform = (rng: Rng): number => ((rng.nextU32() >>> 9) * 2 + 1) / 2 ** 24;

/**
 * Fed uniforms for a batch holding global samples `indices`, each step's draws [B, L, N] (L tokens,
 * N bit groups): per sample, L*N categorical draws then L*N Gumbel draws from its own stream.
 */
export function perSampleRandom(seed: number, indices: readonly number[], tokens: number, groups: number): Extract<RandomSource, { kind: "uniforms" }> {
  const per = tokens * groups;
  return {
    kind: "uniforms",
    at: (step) => {
      const categorical = new Float32Array(indices.length * per), gumbel = new Float32Array(indices.length * per);
      indices.forEach((index, b) => {
        const rng = new Rng(sampleStepSeed(seed, index, step));
        for (let i = 0; i < per; i++) categorical[b * per + i] = openUniform(rng);
        for (let i = 0; i < per; i++) gumbel[b * per + i] = openUniform(rng);
      });
      const shape = [indices.length, tokens, groups];
      return { categorical: new HostTensor("float32", shape, categorical), gumbel: new HostTensor("float32", shape, gumbel) };
    },
  };
}
