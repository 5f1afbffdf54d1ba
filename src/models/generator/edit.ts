// Editing with bit tokens: complete a partially known token grid (inpainting, class-conditional
// edits, group-level edits) and extend a grid by whole tokens (outpainting), on the official
// sampler started from a partly known state (Sampler.run with `initial`; the rule for the
// masked-count schedule is stated there: it counts the unknown slots only, and a fully unknown
// start is exactly plain sampling). Platform-free: ids and masks are HostTensors.

import { HostTensor } from "../../engine/host-tensor.js";
import { FeedError, fmtShape } from "../../engine/errors.js";
import { groupBits, maskId, seqLen, type GeneratorConfig, type SamplingDefaults } from "./config.js";
import type { RandomSource, Sampler, SamplerStep } from "./sampler.js";
import type { GenerationResult, SampleOptions } from "./generator.js";

/** sample()'s options (labels, seed or fed uniforms, step callback, signal, decoding) plus the known grid. */
export interface CompleteOptions extends SampleOptions {
  /** Known token ids, int64 [B, h, w] or [B, h*w] on the generator's grid; B = 1 is used for every label. */
  readonly ids: HostTensor;
  /**
   * Which slots are unknown (non-zero = regenerate): [B, h, w] / [B, L] for whole tokens, or
   * [B, h, w, N] / [B, L, N] for single bit groups (see token-mask.ts); B = 1 is used for every label.
   */
  readonly mask: HostTensor;
}

export interface CompletionResult extends GenerationResult {
  /** Unknown group slots per output at the start (0: the input came back unchanged). */
  readonly unknownSlots: readonly number[];
}

/** How a Generator hands its compiled samplers to the editing code. */
export type SamplerFor = (guidance: boolean, randomness: RandomSource["kind"]) => Promise<Sampler>;

const OP = "Generator.complete";

/** The body of Generator.complete (settings already merged with the config's defaults). */
export async function completeTokens(cfg: GeneratorConfig, settings: SamplingDefaults, o: CompleteOptions, samplerFor: SamplerFor): Promise<CompletionResult> {
  const batch = o.labels.length;
  if (batch === 0) throw new FeedError({ op: OP, expected: "at least one label", got: "none" });
  // Checked here too (not only by the sampler): an empty mask returns before any sampler runs.
  const badLabel = o.labels.find((y) => !Number.isInteger(y) || y < 0 || y >= cfg.numClasses);
  if (badLabel !== undefined) throw new FeedError({ op: OP, expected: `integer labels in [0, ${cfg.numClasses})`, got: `label ${badLabel}` });
  const ids = idsRows(cfg, o.ids, batch);
  const initial = initialGroups(cfg, ids, o.mask, batch);
  const m = BigInt(maskId(cfg)), per = seqLen(cfg) * cfg.groups;
  const unknownSlots = Array.from({ length: batch }, (_, b) => initial.subarray(b * per, (b + 1) * per).reduce((n, v) => n + (v === m ? 1 : 0), 0));
  const seed = o.random ? undefined : o.seed ?? Math.floor(Math.random() * 2 ** 31);
  const outShape = [batch, ...o.ids.shape.slice(1)];
  let outIds: HostTensor;
  if (unknownSlots.every((n) => n === 0)) {
    // Nothing to regenerate: the input ids, untouched (no model run, no randomness used).
    outIds = new HostTensor("int64", outShape, ids);
  } else {
    const random: RandomSource = o.random ?? { kind: "seed", seed: seed! };
    const sampler = await samplerFor(settings.guidanceScale !== 0, random.kind);
    const groups = new HostTensor("int64", [batch, seqLen(cfg), cfg.groups], initial);
    const out = await sampler.run({ labels: o.labels, settings, random, onStep: o.onStep, signal: o.signal, initial: groups });
    outIds = out.ids.reshape(outShape);
  }
  const images = o.tokenizer ? await o.tokenizer.decode(outIds, { clamp: o.clamp ?? false }) : undefined;
  return { ids: outIds, bits: idsToLatentBits(cfg, outIds), ...(images ? { images } : {}), ...(seed !== undefined ? { seed } : {}), settings, unknownSlots };
}

/** The ids as B rows of L values (a batch-1 input repeated), after checking shape and range. */
function idsRows(cfg: GeneratorConfig, ids: HostTensor, batch: number): BigInt64Array {
  const l = seqLen(cfg), grid = cfg.tokenGrid, s = ids.shape;
  const okShape = (s.length === 3 && s[1] === grid && s[2] === grid) || (s.length === 2 && s[1] === l);
  if (ids.dtype !== "int64" || !okShape || (s[0] !== 1 && s[0] !== batch)) {
    throw new FeedError({ op: OP, scope: "ids", expected: `int64 ids [${batch} or 1, ${grid}, ${grid}] or [${batch} or 1, ${l}] (the generator's grid)`, got: `${ids.dtype}${fmtShape(s)}` });
  }
  const data = ids.data as BigInt64Array, top = 1n << BigInt(cfg.tokenBits);
  const bad = data.findIndex((v) => v < 0n || v >= top);
  if (bad >= 0) throw new FeedError({ op: OP, scope: "ids", expected: `ids in [0, ${top})`, got: `${data[bad]} at flat index ${bad}` });
  return s[0] === batch ? data.slice() : repeatRows(data, batch);
}

function repeatRows(row: BigInt64Array, batch: number): BigInt64Array {
  const out = new BigInt64Array(row.length * batch);
  for (let b = 0; b < batch; b++) out.set(row, b * row.length);
  return out;
}

/** Group tokens [B, L, N] of the ids, the mask id on every unknown slot of `mask`. */
function initialGroups(cfg: GeneratorConfig, ids: BigInt64Array, mask: HostTensor, batch: number): BigInt64Array {
  const l = seqLen(cfg), n = cfg.groups, grid = cfg.tokenGrid, s = mask.shape;
  const tokenLevel = (s.length === 3 && s[1] === grid && s[2] === grid) || (s.length === 2 && s[1] === l);
  const groupLevel = (s.length === 4 && s[1] === grid && s[2] === grid && s[3] === n) || (s.length === 3 && s[1] === l && s[2] === n);
  if (!(tokenLevel || groupLevel) || (s[0] !== 1 && s[0] !== batch)) {
    throw new FeedError({
      op: OP, scope: "mask", expected: `a token mask [${batch} or 1, ${grid}, ${grid}] or a group mask [${batch} or 1, ${grid}, ${grid}, ${n}]`, got: `${mask.dtype}${fmtShape(s)}`,
      hint: "map a pixel mask with pixelMaskToTokenMask first",
    });
  }
  const src = mask.data as ArrayLike<number | bigint>;
  const perRow = tokenLevel ? l : l * n;
  const b64 = BigInt(groupBits(cfg)), low = (1n << b64) - 1n, m = BigInt(maskId(cfg));
  const out = new BigInt64Array(batch * l * n);
  for (let b = 0; b < batch; b++) {
    const mrow = s[0] === 1 ? 0 : b * perRow;
    for (let t = 0; t < l; t++) {
      const id = ids[b * l + t]!;
      for (let g = 0; g < n; g++) {
        const unknown = Number(src[mrow + (tokenLevel ? t : t * n + g)]) !== 0;
        out[(b * l + t) * n + g] = unknown ? m : (id >> (BigInt(g) * b64)) & low;
      }
    }
  }
  return out;
}

/** ids [B, ...L] -> +-1 latent bits [B, K, h, w] float32 (channel j = bit j, LSB first). */
function idsToLatentBits(cfg: GeneratorConfig, ids: HostTensor): HostTensor {
  const batch = ids.shape[0]!, l = seqLen(cfg), k = cfg.tokenBits, data = ids.data as BigInt64Array;
  const out = new Float32Array(batch * k * l);
  for (let b = 0; b < batch; b++) for (let t = 0; t < l; t++) for (let j = 0; j < k; j++) out[(b * k + j) * l + t] = (data[b * l + t]! >> BigInt(j)) & 1n ? 1 : -1;
  return new HostTensor("float32", [batch, k, cfg.tokenGrid, cfg.tokenGrid], out);
}
