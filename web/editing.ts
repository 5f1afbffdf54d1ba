// Inpainting for the app: regenerate the masked tokens of one image conditioned on the rest
// (optionally as another class). A local stand-in, kept apart from the page and the worker so it
// can be swapped for the library's Generator.complete once the editing API (branch `editing`) is
// on main; it follows the same rule:
//
//   the loop is the generator's own sampling step graph (buildSamplerStep), started from the image's
//   group tokens with the mask id on every group of every masked token. Known slots have +inf
//   confidence in that graph, so they are never re-masked and never change. The mask schedule
//   counts the U unknown slots only: k_i = clamp(floor(ratio_i * U), 1, m_i - 1), m_i the slots
//   still masked; when k_i <= 0 nothing is re-masked (the official loop would re-mask everything
//   there, which only makes sense when every slot started unknown).

import { CompiledGraph, FeedError, HostTensor, type Generator, type SessionOptions } from "../src/browser.js";
import { buildSamplerStep, type SamplerStep } from "../src/models/generator/sampler.js";
import { guidanceScaleAt, numToMask, softmaxTemperatureAt, stepSeed } from "../src/models/generator/masking.js";
import { groupBits, maskId, seqLen, type SamplingDefaults } from "../src/models/generator/config.js";

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

const compiled = new WeakMap<Generator, Map<string, Promise<CompiledGraph>>>();

function stepGraph(gen: Generator, guidance: boolean, session: SessionOptions): Promise<CompiledGraph> {
  let byKey = compiled.get(gen);
  if (!byKey) compiled.set(gen, (byKey = new Map()));
  const key = String(guidance);
  let g = byKey.get(key);
  if (!g) {
    const { graph, outputs } = buildSamplerStep(gen.config, { batch: 1, guidance, randomness: "seed", session });
    g = CompiledGraph.create(graph, outputs, session);
    byKey.set(key, g);
    g.catch(() => byKey!.delete(key));
  }
  return g;
}

/** Group tokens [1, L, N] of `ids`, the mask id on every group of a masked token. */
export function initialGroups(gen: Generator, ids: readonly number[], mask: readonly boolean[]): HostTensor {
  const cfg = gen.config, n = cfg.groups, b = groupBits(cfg), m = BigInt(maskId(cfg));
  const out = new BigInt64Array(ids.length * n);
  ids.forEach((id, l) => {
    for (let j = 0; j < n; j++) out[l * n + j] = mask[l] ? m : BigInt(Math.floor(id / 2 ** (j * b)) % 2 ** b);
  });
  return new HostTensor("int64", [1, ids.length, n], out);
}

/** The completed ids (row-major), every unmasked token equal to the input's. */
export async function inpaint(gen: Generator, session: SessionOptions, r: InpaintRequest): Promise<number[]> {
  const cfg = gen.config, l = seqLen(cfg), m = BigInt(maskId(cfg));
  if (r.ids.length !== l || r.mask.length !== l) {
    throw new FeedError({ op: "inpaint", expected: `${l} token ids and ${l} mask entries (an ${cfg.tokenGrid}x${cfg.tokenGrid} grid)`, got: `${r.ids.length} ids, ${r.mask.length} mask entries` });
  }
  const top = 2 ** cfg.tokenBits;
  const bad = r.ids.findIndex((v) => !Number.isInteger(v) || v < 0 || v >= top);
  if (bad >= 0) throw new FeedError({ op: "inpaint", expected: `ids in [0, ${top})`, got: `${r.ids[bad]} at ${bad}` });
  if (!r.mask.some(Boolean)) throw new FeedError({ op: "inpaint", expected: "a mask over at least one token", got: "an empty mask", hint: "paint over the part of the image to regenerate" });
  if (!Number.isInteger(r.label) || r.label < 0 || r.label >= cfg.numClasses) throw new FeedError({ op: "inpaint", expected: `a class in [0, ${cfg.numClasses})`, got: String(r.label) });
  const s = r.settings;
  if (!Number.isInteger(s.steps) || s.steps < 1) throw new FeedError({ op: "inpaint", expected: "steps >= 1", got: String(s.steps) });
  const guidance = s.guidanceScale !== 0;
  const graph = await stepGraph(gen, guidance, session);
  let tokens = initialGroups(gen, r.ids, r.mask);
  const count = (t: HostTensor) => (t.data as BigInt64Array).reduce((a, v) => a + (v === m ? 1 : 0), 0);
  const unknown = count(tokens);
  let masked = unknown;
  let ids: HostTensor | undefined;
  const labels = HostTensor.i64([r.label]);
  for (let i = 0; i < s.steps; i++) {
    r.signal?.throwIfAborted();
    const k = numToMask(i, s.steps, masked, unknown, s.maskSchedule);
    const feeds: Record<string, HostTensor> = {
      tokens, labels,
      temperature: HostTensor.scalar(softmaxTemperatureAt(i, s.steps, s.softmaxTemperature, s.samplingAnnealing)),
      randomizeTemperature: HostTensor.scalar(s.randomizeTemperature),
      oneMinusProgress: HostTensor.scalar(1 - (i + 1) / s.steps),
      thresholdIndex: HostTensor.scalar(Math.max(k - 1, 0), "int64"),
      seed: stepSeed(r.seed, i),
    };
    if (guidance) feeds.cfgScale = HostTensor.scalar(guidanceScaleAt(i, s.steps, s.guidanceScale, s.guidanceAnnealing, s.scalePow));
    const out = await graph.run(feeds, gen.params);
    tokens = k <= 0 ? out.predicted! : out.next!;
    masked = count(tokens);
    ids = out.ids!;
    await r.onStep?.({ step: i, steps: s.steps, tokens, predicted: out.predicted!, predictedIds: ids, numMasked: masked });
  }
  r.signal?.throwIfAborted();
  const result = ids!.toNumbers();
  // The graph keeps known slots by construction; check it, since the app promises it.
  r.mask.forEach((isMasked, j) => {
    if (!isMasked && result[j] !== r.ids[j]) throw new FeedError({ op: "inpaint", expected: `token ${j} kept (${r.ids[j]})`, got: String(result[j]) });
  });
  return result;
}
