// The Stage II training objective as one graph (spec 3.4): tokenizer ids -> groups -> Bernoulli
// masking with a per-sample arccos ratio -> class-label dropout -> generator -> label-smoothed MLM
// loss over all slots. Every random draw (mask ratios, slot masks, label dropout, dropout) comes
// from the in-graph RNG keyed by the fed `seed`, so a step is reproducible from (seed, step) and
// a run resumes exactly from its checkpointed step counter.

import { Graph, type Tensor } from "../../engine/graph/tensor.js";
import { randomUniform } from "../../engine/ops/index.js";
import { ForwardContext } from "../../engine/nn/index.js";
import { splitIds } from "./bit-groups.js";
import { applyMask, bernoulliMask, labelDropMask, mlmLoss } from "./masking.js";
import { generatorForward } from "./transformer.js";
import { groupBits, maskId, seqLen, type GeneratorConfig } from "./config.js";

export interface GeneratorTrainingGraph {
  readonly graph: Graph;
  /** Feeds: ids int64 [B, L] (tokenizer ids), labels int64 [B], seed int64 [] (masking.stepSeed per step). */
  readonly inputs: { readonly ids: Tensor; readonly labels: Tensor; readonly seed: Tensor };
  readonly loss: Tensor;
  /** The official training logs: mlm_loss, masked_token_loss, correct_tokens, masked_correct_tokens. */
  readonly logs: Readonly<Record<string, Tensor>>;
}

/** Builds the training loss graph for batch size `batch` (a number, or a symbol such as "B"). */
export function buildGeneratorTrainingGraph(cfg: GeneratorConfig, batch: number | string = "B"): GeneratorTrainingGraph {
  const g = new Graph();
  const ids = g.input("ids", "int64", [batch, seqLen(cfg)]);
  const labels = g.input("labels", "int64", [batch]);
  const seed = g.input("seed", "int64", []);
  const ctx = new ForwardContext(true, seed);
  const targets = splitIds(ids, { groups: cfg.groups, groupBits: groupBits(cfg) });
  const ratioDraw = randomUniform(labels, seed, ctx.nextSalt()); // r ~ U(0, 1) per sample
  const mask = bernoulliMask(ratioDraw, randomUniform(targets, seed, ctx.nextSalt()), cfg.training.maskSchedule);
  const dropLabel = labelDropMask(randomUniform(labels, seed, ctx.nextSalt()), cfg.training.classLabelDropout);
  const { logits } = generatorForward({ tokens: applyMask(targets, mask, maskId(cfg)), labels, dropLabel }, cfg, ctx);
  const t = cfg.training;
  const loss = mlmLoss(logits, targets, { labelSmoothing: t.labelSmoothing, sumSplits: t.sumSplits, lossMask: mask, maskedOnly: t.maskedOnlyLoss });
  return {
    graph: g,
    inputs: { ids, labels, seed },
    loss: loss.loss,
    logs: {
      mlm_loss: loss.loss,
      masked_token_loss: loss.maskedLoss!,
      correct_tokens: loss.correctTokens,
      masked_correct_tokens: loss.maskedCorrectTokens!,
    },
  };
}
