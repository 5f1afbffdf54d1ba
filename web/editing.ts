// Inpainting for the app: regenerate the masked tokens of one image conditioned on the rest
// (optionally as another class), through the library's Generator.complete, the same code the CLI's
// `maskbit inpaint` runs (unknown tokens regenerated, known ones never changed; the schedule rule
// is stated at Sampler.run). What stays here is the app's own contract: a non-empty painted mask
// and the check that every unpainted token came back unchanged.

import { FeedError, HostTensor, type Generator } from "../src/browser.js";
import type { SamplerStep } from "../src/models/generator/sampler.js";
import { seqLen, type SamplingDefaults } from "../src/models/generator/config.js";

export interface InpaintRequest {
  /** The image's token ids, row-major (L = grid^2). */
  readonly ids: readonly number[];
  /** true where the token is to be regenerated. */
  readonly mask: readonly boolean[];
  readonly label: number;
  readonly seed: number;
  readonly settings: SamplingDefaults;
  readonly onStep?: (s: SamplerStep) => void | Promise<void>;
  readonly signal?: AbortSignal;
}

/** The completed ids (row-major), every unmasked token equal to the input's. */
export async function inpaint(gen: Generator, r: InpaintRequest): Promise<number[]> {
  const cfg = gen.config, l = seqLen(cfg), grid = cfg.tokenGrid;
  if (r.ids.length !== l || r.mask.length !== l) {
    throw new FeedError({ op: "inpaint", expected: `${l} token ids and ${l} mask entries (an ${grid}x${grid} grid)`, got: `${r.ids.length} ids, ${r.mask.length} mask entries` });
  }
  if (!r.mask.some(Boolean)) throw new FeedError({ op: "inpaint", expected: "a mask over at least one token", got: "an empty mask", hint: "paint over the part of the image to regenerate" });
  const result = await gen.complete({
    ...r.settings,
    ids: HostTensor.i64(r.ids, [1, grid, grid]),
    mask: new HostTensor("uint8", [1, grid, grid], Uint8Array.from(r.mask, Number)),
    labels: [r.label], seed: r.seed,
    ...(r.onStep ? { onStep: r.onStep } : {}), ...(r.signal ? { signal: r.signal } : {}),
  });
  const out = result.ids.toNumbers();
  // Generator.complete keeps known slots by construction; check it, since the app promises it.
  r.mask.forEach((isMasked, j) => {
    if (!isMasked && out[j] !== r.ids[j]) throw new FeedError({ op: "inpaint", expected: `token ${j} kept (${r.ids[j]})`, got: String(out[j]) });
  });
  return out;
}
