// Golden kind "sampler": the MaskGIT-style decoding loop with classifier-free guidance, made
// deterministic by the case's stored uniforms. Every per-step trace (masked counts, k, CFG scale,
// model input, raw logits on the doubled batch, probabilities, categorical draws, filled
// prediction, sorted confidence scores) is stacked over the steps and compared, then the final
// group tokens, ids and the image the tokenizer decodes from those ids.
//
// The case holds no weights of its own: its notes name the generator's and the tokenizer's weight
// files relative to the case directory (by default ../generator_k10/weights.safetensors and
// ../tokenizer_k10/weights.safetensors); the tokenizer's config comes from the case.json next to
// its weights.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { HostTensor } from "../engine/host-tensor.js";
import { allocHostArray } from "../engine/graph/dtype.js";
import { ParamStore } from "../engine/params.js";
import { CheckpointError } from "../engine/errors.js";
import type { GoldenCase, JsonObject } from "../io/golden.js";
import { readSafetensors } from "../io/safetensors.js";
import { readTorchCheckpoint } from "../io/torch-checkpoint.js";
import { renameLegacyGeneratorKeys } from "../io/keymap.js";
import { Sampler, type StepTrace } from "../models/generator/sampler.js";
import { generatorParamSpecs } from "../models/generator/transformer.js";
import { Tokenizer } from "../models/tokenizer/tokenizer.js";
import { samplerCaseGeneratorConfig } from "./generator-config.js";
import { tokenizerConfigFromCase } from "./tokenizer.js";
import { checkOutputs, type Check } from "./report.js";

const DEFAULT_GENERATOR_WEIGHTS = "../generator_k10/weights.safetensors";
const DEFAULT_TOKENIZER_WEIGHTS = "../tokenizer_k10/weights.safetensors";

export async function runSamplerCase(c: GoldenCase): Promise<Check[]> {
  const cfg = samplerCaseGeneratorConfig(c);
  const settings = cfg.sampling;
  const labels = c.tensors.get("labels")?.toNumbers() ?? (c.config.labels as number[] | undefined);
  if (!labels) throw new CheckpointError({ op: "golden sampler", scope: c.dir, expected: "class labels (tensor labels or config.labels)", got: "neither" });
  const uniformCat = c.tensors.get("uniform_cat")!, gumbelU = c.tensors.get("gumbel_u")!;

  const notes = typeof c.raw.notes === "string" ? c.raw.notes : "";
  const generatorWeights = referencedFile(c, notes, /generator\s*=\s*(\S+?\.(?:safetensors|bin))/, DEFAULT_GENERATOR_WEIGHTS);
  const params = ParamStore.loadStrict(generatorParamSpecs(cfg), renameLegacyGeneratorKeys(readWeights(generatorWeights)), generatorWeights);

  const sampler = await Sampler.create(cfg, params, {
    guidance: settings.guidanceScale !== 0, randomness: "uniforms", trace: true, session: { threads: 2 },
  });
  const traces: StepTrace[] = [];
  const predicted: HostTensor[] = [];
  let result;
  try {
    result = await sampler.run({
      labels, settings,
      random: { kind: "uniforms", at: (i) => ({ categorical: row(uniformCat, i), gumbel: row(gumbelU, i) }) },
      onStep: (s) => {
        traces.push(s.trace!);
        predicted.push(s.predicted);
      },
    });
  } finally {
    await sampler.dispose();
  }

  const got: Record<string, HostTensor> = {
    num_masked_before: HostTensor.i64(traces.map((t) => t.numMaskedBefore)),
    num_to_mask: HostTensor.i64(traces.map((t) => t.numToMask)),
    cfg_scale: HostTensor.f32(traces.map((t) => t.cfgScale)),
    tokens_before_step: stack(traces.map((t) => t.tokensBefore)),
    model_logits: stack(traces.map((t) => t.modelLogits)),
    probs: stack(traces.map((t) => t.probs)),
    raw_samples: stack(traces.map((t) => t.rawSamples)),
    predicted_tokens: stack(predicted),
    scores_sorted: stack(traces.map((t) => t.scoresSorted)),
    final_group_tokens: result.groups,
    final_ids: result.ids,
  };
  const checks: Check[] = [];
  if (c.outputs.includes("final_image")) {
    const tokenizerWeights = referencedFile(c, notes, /tokenizer[^=;]*=\s*(\S+?\.(?:safetensors|bin))/, DEFAULT_TOKENIZER_WEIGHTS);
    try {
      got.final_image = await decodeIds(result.ids, tokenizerWeights);
    } catch (e) {
      checks.push({ tensor: "final_image", ok: false, worst: Infinity, detail: `could not decode with ${tokenizerWeights}: ${e instanceof Error ? e.message : String(e)}` });
    }
  }
  const wanted = Object.fromEntries(Object.entries(got).filter(([k]) => c.outputs.includes(k)));
  const missing = c.outputs.filter((n) => !(n in wanted) && !checks.some((k) => k.tensor === n))
    .map((n): Check => ({ tensor: n, ok: false, worst: Infinity, detail: "not produced by maskbit" }));
  return [...checkOutputs(c, wanted), ...checks, ...missing];
}

/** The image the tokenizer next to `weights` decodes from ids [B, L] (unclamped, as the official sample()). */
async function decodeIds(ids: HostTensor, weights: string): Promise<HostTensor> {
  const caseJson = join(dirname(weights), "case.json");
  if (!existsSync(caseJson)) throw new CheckpointError({ op: "golden sampler", scope: caseJson, expected: "the tokenizer case's case.json (its config)", got: "no such file" });
  const config = tokenizerConfigFromCase((JSON.parse(readFileSync(caseJson, "utf8")) as JsonObject).config as JsonObject, `${caseJson}:config`);
  const tokenizer = await Tokenizer.load({ config, params: readWeights(weights) }, { session: { threads: 2 } });
  try {
    return await tokenizer.decode(ids, { clamp: false });
  } finally {
    await tokenizer.dispose();
  }
}

/** A weight file the notes name ("generator = ../x/weights.safetensors"), relative to the case directory. */
function referencedFile(c: GoldenCase, notes: string, pattern: RegExp, fallback: string): string {
  return resolve(c.dir, pattern.exec(notes)?.[1] ?? fallback);
}

function readWeights(path: string): Map<string, HostTensor> {
  if (!existsSync(path)) throw new CheckpointError({ op: "golden sampler", scope: path, expected: "a weight file", got: "no such file" });
  return path.endsWith(".safetensors") ? readSafetensors(path).tensors : readTorchCheckpoint(path);
}

/** Entry i along the first axis (a view, no copy). */
function row(t: HostTensor, i: number): HostTensor {
  const inner = t.shape.slice(1);
  const size = inner.reduce((a, b) => a * b, 1);
  return new HostTensor(t.dtype, inner, t.data.subarray(i * size, (i + 1) * size));
}

/** Same-shape tensors stacked along a new first axis. */
function stack(ts: readonly HostTensor[]): HostTensor {
  const first = ts[0]!;
  const data = allocHostArray(first.dtype, first.size * ts.length);
  ts.forEach((t, i) => (data as Float32Array).set(t.data as Float32Array, i * first.size));
  return new HostTensor(first.dtype, [ts.length, ...first.shape], data);
}
