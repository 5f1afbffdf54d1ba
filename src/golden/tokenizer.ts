// Golden kind "tokenizer": the VQGAN+/LFQ tokenizer in train mode for the case's config: encoder
// output, quantized latent, ids, reconstruction, every loss term, the gradient of
// reconstruction + quantizer loss for every parameter, and decoding given ids.

import { Graph, type Tensor } from "../engine/graph/tensor.js";
import { grad } from "../engine/autodiff/grad.js";
import { CompiledGraph } from "../engine/runtime/session.js";
import { ParamStore } from "../engine/params.js";
import { add, mul, reduceMean, square, sub } from "../engine/ops/index.js";
import type { HostTensor } from "../engine/host-tensor.js";
import type { GoldenCase, JsonObject } from "../io/golden.js";
import type { ConfigObject } from "../config/yaml.js";
import { parseTokenizerConfig, latentStride, type TokenizerConfig } from "../models/tokenizer/config.js";
import { buildDecodeIds, buildTokenizerForward, tokenizerParamSpecs } from "../models/tokenizer/forward.js";
import { checkOutputs, type Check } from "./report.js";

/** Fields of a tokenizer case's config that describe the case rather than the model. */
const CASE_FIELDS = ["loss", "input_shape", "latent_hw", "num_parameters"];

/** The tokenizer a tokenizer case's `config` describes (also used to decode for other kinds' cases). */
export function tokenizerConfigFromCase(caseConfig: JsonObject, path = "config"): TokenizerConfig {
  const section = Object.fromEntries(Object.entries(caseConfig).filter(([k]) => !CASE_FIELDS.includes(k))) as ConfigObject;
  return parseTokenizerConfig(section, path);
}

export async function runTokenizerCase(c: GoldenCase): Promise<Check[]> {
  const config = tokenizerConfigFromCase(c.config);
  const loss = (c.config.loss ?? {}) as JsonObject;
  const recWeight = typeof loss.reconstruction_weight === "number" ? loss.reconstruction_weight : 4.0;
  const x = c.tensors.get("x")!;
  const g = new Graph();
  const xIn = g.input("x", "float32", x.shape);
  const f = buildTokenizerForward(xIn, config, { training: true });
  const reconstruction = mul(reduceMean(square(sub(xIn, f.xHat))), recWeight);
  const total = add(reconstruction, f.losses.quantizerLoss);
  const keys = g.trainableKeys();
  const grads = grad(total, keys.map((k) => g.params.get(k)!));
  const outputs: Record<string, Tensor> = {
    z: f.z, z_quantized: f.zQuantized, ids: f.ids, x_hat: f.xHat,
    commitment_loss: f.losses.commitmentLoss, entropy_loss: f.losses.entropyLoss, per_sample_entropy: f.losses.perSampleEntropy,
    avg_entropy: f.losses.avgEntropy, quantizer_loss: f.losses.quantizerLoss, reconstruction_loss: reconstruction, total_loss: total,
  };
  keys.forEach((k, i) => (outputs[`grad.${k}`] = grads[i]!));
  const feeds: Record<string, HostTensor> = { x };
  if (c.tensors.has("ids_in")) {
    feeds.ids_in = idsGrid(c, x.shape as number[], latentStride(config));
    outputs.x_from_ids = buildDecodeIds(g.input("ids_in", "int64", feeds.ids_in.shape), config);
  }
  const wanted = Object.fromEntries(Object.entries(outputs).filter(([k]) => c.outputs.includes(k)));
  const compiled = await CompiledGraph.create(g, wanted, { threads: 2 });
  try {
    const out = await compiled.run(feeds, ParamStore.loadStrict(tokenizerParamSpecs(config), c.weights!, c.name));
    const missing = c.outputs.filter((n) => !(n in out)).map((n): Check => ({ tensor: n, ok: false, worst: Infinity, detail: "not produced by maskbit" }));
    return [...checkOutputs(c, out), ...missing];
  } finally {
    await compiled.dispose();
  }
}

/** ids_in [B, h*w] laid out row-major over the latent grid -> [B, h, w]. */
function idsGrid(c: GoldenCase, xShape: number[], stride: number) {
  const ids = c.tensors.get("ids_in")!;
  const hw = c.config.latent_hw as number[] | undefined;
  const [h, w] = hw ?? [Math.ceil(xShape[2]! / stride), Math.ceil(xShape[3]! / stride)];
  return ids.reshape([ids.shape[0]!, h!, w!]);
}
