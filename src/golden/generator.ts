// Golden kind "generator": the Stage II transformer (LFQBert, or the Bert baseline) for the case's
// config in train mode on partially masked group tokens: effective labels, input bits, logits, the
// label-smoothed MLM loss (all slots, and the masked-only value that is logged), and the gradient
// of the MLM loss for every parameter.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { Graph, type Tensor } from "../engine/graph/tensor.js";
import { grad } from "../engine/autodiff/grad.js";
import { CompiledGraph } from "../engine/runtime/session.js";
import { ParamStore } from "../engine/params.js";
import { ForwardContext } from "../engine/nn/index.js";
import { greater } from "../engine/ops/index.js";
import { HostTensor } from "../engine/host-tensor.js";
import { CheckpointError } from "../engine/errors.js";
import type { GoldenCase } from "../io/golden.js";
import { readTorchCheckpoint } from "../io/torch-checkpoint.js";
import { renameLegacyGeneratorKeys } from "../io/keymap.js";
import { generatorForward } from "../models/generator/transformer.js";
import { mlmLoss } from "../models/generator/masking.js";
import { generatorConfigFromCase } from "./generator-config.js";
import { checkOutputs, type Check } from "./report.js";

export async function runGeneratorCase(c: GoldenCase): Promise<Check[]> {
  const cfg = generatorConfigFromCase(c.config);
  const tokensIn = c.tensors.get("tokens")!;
  const [b] = tokensIn.shape as number[];
  const g = new Graph();
  const tokens = g.input("tokens", "int64", tokensIn.shape);
  const labels = g.input("labels", "int64", [b!]);
  const feeds: Record<string, HostTensor> = { tokens: tokensIn, labels: c.tensors.get("labels")! };
  // No drop_label_mask: every label is kept.
  feeds.drop_label_mask = c.tensors.get("drop_label_mask") ?? HostTensor.i64(new Array<number>(b!).fill(0));
  const drop = g.input("drop_label_mask", "int64", [b!]);
  const out = generatorForward({ tokens, labels, dropLabel: greater(drop, 0) }, cfg, new ForwardContext(true));

  const outputs: Record<string, Tensor> = { effective_labels: out.effectiveLabels, logits: out.logits };
  if (out.inputBits) outputs.input_bits = out.inputBits;
  const targetsIn = c.tensors.get("targets");
  if (targetsIn) {
    feeds.targets = targetsIn;
    const targets = g.input("targets", "int64", targetsIn.shape);
    const maskIn = c.tensors.get("loss_mask");
    let lossMask: Tensor | undefined;
    if (maskIn) {
      feeds.loss_mask = maskIn;
      lossMask = greater(g.input("loss_mask", "int64", maskIn.shape), 0);
    }
    const loss = mlmLoss(out.logits, targets, { labelSmoothing: cfg.training.labelSmoothing, sumSplits: cfg.training.sumSplits, ...(lossMask ? { lossMask } : {}) });
    outputs.mlm_loss = loss.loss;
    if (loss.maskedLoss) outputs.masked_token_loss = loss.maskedLoss;
    const keys = g.trainableKeys();
    const grads = grad(loss.loss, keys.map((k) => g.params.get(k)!));
    keys.forEach((k, i) => (outputs[`grad.${k}`] = grads[i]!));
  }

  const wanted = Object.fromEntries(Object.entries(outputs).filter(([k]) => c.outputs.includes(k)));
  const compiled = await CompiledGraph.create(g, wanted, { threads: 2 });
  try {
    const got = await compiled.run(feeds, ParamStore.loadStrict(g.paramSpecs.values(), caseWeights(c), c.name));
    const missing = c.outputs.filter((n) => !(n in got)).map((n): Check => ({ tensor: n, ok: false, worst: Infinity, detail: "not produced by maskbit" }));
    return [...checkOutputs(c, got), ...missing];
  } finally {
    await compiled.dispose();
  }
}

/** weights.safetensors, or else the released format weights.bin (legacy token_emb.* keys renamed). */
function caseWeights(c: GoldenCase): ReadonlyMap<string, HostTensor> {
  if (c.weights) return c.weights;
  const bin = join(c.dir, "weights.bin");
  if (existsSync(bin)) return renameLegacyGeneratorKeys(readTorchCheckpoint(bin));
  throw new CheckpointError({ op: "golden generator", scope: c.dir, expected: "weights.safetensors or weights.bin", got: "neither" });
}
