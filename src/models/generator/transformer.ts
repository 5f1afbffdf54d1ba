// The generator networks (spec 3.3), readable top to bottom: the two encoder sub-blocks, the
// shared BERT trunk, then the two models built on it:
//   LFQBert  (MaskBit): group tokens -> +-1 bits -> Linear(K -> D) ... -> per-group logits
//   Bert     (MaskGIT baseline): one learned Embedding(C+1, D) per group, summed; logits tied to it
// Parameters are declared under the official state-dict keys (spec 5.3), so released weights load
// strictly (after io/keymap.ts renames the legacy `token_emb.*` keys).

import type { Init, ParamSpec, Tensor } from "../../engine/graph/tensor.js";
import { Graph } from "../../engine/graph/tensor.js";
import { HostTensor, shapeSize } from "../../engine/host-tensor.js";
import { add, concat, gather, gelu, matmul, reshape, slice, transpose, unsqueeze, where } from "../../engine/ops/index.js";
import { ForwardContext, dropout, embedding, layerNormLayer, linear, selfAttention, truncNormal, zeros } from "../../engine/nn/index.js";
import { ShapeError } from "../../engine/errors.js";
import { groupsToBits } from "./bit-groups.js";
import { groupBits, groupVocab, seqLen, type GeneratorConfig } from "./config.js";

/** BERT's LayerNorm epsilon, used by every norm of the generator. */
const LN_EPS = 1e-12;
/** Official init: Linear and Embedding weights trunc-normal(0, 0.02) (cut at +-2), biases 0. */
const WEIGHT_INIT: Init = truncNormal(0.02);

export interface GeneratorInputs {
  /** [B, L, N] int64 group values; the mask id (2^b) marks masked slots. */
  readonly tokens: Tensor;
  /** [B] int64 class labels in [0, numClasses). */
  readonly labels: Tensor;
  /** [B] bool: use the null class instead of the label (label dropout, unconditional CFG half). */
  readonly dropLabel: Tensor;
}

export interface GeneratorOutputs {
  /** [B, L, N, C] float32 logits per (position, group). */
  readonly logits: Tensor;
  /** [B] int64 labels after dropout (null class where dropped). */
  readonly effectiveLabels: Tensor;
  /** [B, L, K] float32 input bits (LFQBert only). */
  readonly inputBits?: Tensor;
}

// --- encoder blocks ----------------------------------------------------------------------------

/** `<i>.0`: self-attention with residual; post-LN: LN(x + drop(mha(x))), pre-LN: x + drop(mha(LN(x))). */
function attentionBlock(x: Tensor, cfg: GeneratorConfig, ctx: ForwardContext): Tensor {
  const mha = (y: Tensor) =>
    selfAttention(y, "mha", { dim: cfg.hiddenDim, heads: cfg.heads, dropout: cfg.dropout, outInit: WEIGHT_INIT }, ctx);
  const norm = (y: Tensor) => layerNormLayer(y, "norm", cfg.hiddenDim, LN_EPS);
  return cfg.usePrenorm ? add(dropout(mha(norm(x)), cfg.dropout, ctx), x) : norm(add(dropout(mha(x), cfg.dropout, ctx), x));
}

/** `<i>.1`: MLP net = Linear(D->mlp), GELU, Linear(mlp->D), Dropout; residual as in attentionBlock. */
function mlpBlock(x: Tensor, cfg: GeneratorConfig, ctx: ForwardContext): Tensor {
  const g = x.graph;
  const net = (y: Tensor) => {
    const h = gelu(linear(y, "net.0", cfg.hiddenDim, cfg.mlpDim, { init: WEIGHT_INIT, biasInit: zeros }));
    return dropout(linear(h, "net.2", cfg.mlpDim, cfg.hiddenDim, { init: WEIGHT_INIT, biasInit: zeros }), cfg.dropout, ctx);
  };
  const norm = (y: Tensor) => layerNormLayer(y, "norm", cfg.hiddenDim, LN_EPS);
  return g.scope(1, () => (cfg.usePrenorm ? add(net(norm(x)), x) : norm(add(net(x), x))));
}

/**
 * The shared trunk: tokens [B, L, D] and class embedding [B, 1, D] -> features [B, L+1, D].
 * The class token is appended LAST (position L), then pos_emb, LN + dropout, the encoder layers
 * and last_layer (Linear, GELU, LN).
 */
function trunk(tokens: Tensor, cls: Tensor, posEmb: Tensor, cfg: GeneratorConfig, ctx: ForwardContext): Tensor {
  const g = tokens.graph;
  const d = cfg.hiddenDim;
  let x = add(concat([tokens, cls], 1), posEmb);
  x = g.scope("first_layer", () => dropout(layerNormLayer(x, "0", d, LN_EPS), cfg.dropout, ctx));
  x = g.scope("transformer", () =>
    g.scope("layers", () => {
      let h = x;
      for (let i = 0; i < cfg.depth; i++) h = g.scope(i, () => mlpBlock(g.scope(0, () => attentionBlock(h, cfg, ctx)), cfg, ctx));
      return h;
    }),
  );
  if (cfg.usePrenorm) x = layerNormLayer(x, "norm_after_transformer", d, LN_EPS);
  return g.scope("last_layer", () => layerNormLayer(gelu(linear(x, "0", d, d, { init: WEIGHT_INIT, biasInit: zeros })), "2", d, LN_EPS));
}

/** Learned absolute positions for the L tokens and the class token: [1, L+1, D]. */
const positionEmbedding = (g: Graph, cfg: GeneratorConfig): Tensor => g.param("pos_emb", [1, seqLen(cfg) + 1, cfg.hiddenDim], WEIGHT_INIT);

/** class_emb row of each (possibly dropped) label -> [B, 1, D], plus the effective labels. */
function classToken(inputs: GeneratorInputs, cfg: GeneratorConfig): { cls: Tensor; effectiveLabels: Tensor } {
  const effectiveLabels = where(inputs.dropLabel, cfg.numClasses, inputs.labels);
  const emb = embedding(effectiveLabels, "class_emb", cfg.numClasses + 1, cfg.hiddenDim, WEIGHT_INIT);
  return { cls: reshape(emb, [inputs.labels.shape[0]!, 1, cfg.hiddenDim]), effectiveLabels };
}

function checkInputs(inputs: GeneratorInputs, cfg: GeneratorConfig): void {
  const { tokens, labels, dropLabel } = inputs;
  const [b, l, n] = tokens.shape;
  const ok = tokens.dtype === "int64" && tokens.rank === 3 && l === seqLen(cfg) && n === cfg.groups
    && labels.dtype === "int64" && labels.rank === 1 && labels.shape[0] === b
    && dropLabel.dtype === "bool" && dropLabel.rank === 1 && dropLabel.shape[0] === b;
  if (!ok) {
    throw new ShapeError({
      op: "generator", scope: tokens.graph.scopePath,
      expected: `tokens int64[B, ${seqLen(cfg)}, ${cfg.groups}], labels int64[B], dropLabel bool[B]`,
      got: `tokens ${tokens}, labels ${labels}, dropLabel ${dropLabel}`,
    });
  }
}

// --- LFQBert (MaskBit) -------------------------------------------------------------------------

export function lfqBert(inputs: GeneratorInputs, cfg: GeneratorConfig, ctx: ForwardContext): GeneratorOutputs {
  checkInputs(inputs, cfg);
  const g = inputs.tokens.graph;
  const b = groupBits(cfg), c = groupVocab(cfg), l = seqLen(cfg);
  // Declared in the official state-dict order: parameters, buffers, then submodules in order.
  const posEmb = positionEmbedding(g, cfg);
  const bitValues = g.param("bits_to_indices", [b], { kind: "value", value: () => new HostTensor("int32", [b], Int32Array.from({ length: b }, (_, j) => 2 ** j)) }, { dtype: "int32", trainable: false });
  const inputBits = groupsToBits(inputs.tokens, bitValues, { groups: cfg.groups, groupBits: b });
  const { cls, effectiveLabels } = classToken(inputs, cfg);
  const projected = linear(inputBits, "input_proj", cfg.tokenBits, cfg.hiddenDim, { init: WEIGHT_INIT, biasInit: zeros });
  const x = trunk(projected, cls, posEmb, cfg, ctx);
  // Group-major head: the first C outputs are group 0. The class position is dropped.
  const head = linear(x, "prediction_layer", cfg.hiddenDim, cfg.groups * c, { init: WEIGHT_INIT, biasInit: zeros });
  const logits = reshape(slice(head, [1], [0], [l]), [inputs.tokens.shape[0]!, l, cfg.groups, c]);
  return { logits, effectiveLabels, inputBits };
}

// --- Bert (MaskGIT baseline with learned embeddings) -------------------------------------------

export function bert(inputs: GeneratorInputs, cfg: GeneratorConfig, ctx: ForwardContext): GeneratorOutputs {
  checkInputs(inputs, cfg);
  const g = inputs.tokens.graph;
  const c = groupVocab(cfg), l = seqLen(cfg), d = cfg.hiddenDim;
  const [batch] = inputs.tokens.shape;
  // Declared in the official state-dict order: module parameters, then submodules in order.
  const posEmb = positionEmbedding(g, cfg);
  const { cls, effectiveLabels } = classToken(inputs, cfg);
  // One table per group, with an extra row for the mask id.
  const tables = g.scope("tok_emb_list", () =>
    Array.from({ length: cfg.groups }, (_, n) => g.scope(n, () => g.param("weight", [c + 1, d], WEIGHT_INIT))),
  );
  const summed = tables
    .map((table, n) => gather(table, reshape(slice(inputs.tokens, [2], [n], [n + 1]), [batch!, l]), 0))
    .reduce((a, e) => add(a, e));
  const x = slice(trunk(summed, cls, posEmb, cfg, ctx), [1], [0], [l]);
  // Weight tying: logits_n = x . E_n[:C]^T + a learned per-position bias [L, C].
  const perGroup = tables.map((table, n) => {
    const bias = g.scope("bias", () => g.param(String(n), [l, c], zeros));
    return unsqueeze(add(matmul(x, transpose(slice(table, [0], [0], [c]), [1, 0])), bias), [2]);
  });
  return { logits: concat(perGroup, 2), effectiveLabels };
}

// --- dispatch and bookkeeping ------------------------------------------------------------------

export function generatorForward(inputs: GeneratorInputs, cfg: GeneratorConfig, ctx: ForwardContext): GeneratorOutputs {
  return cfg.arch === "lfq_bert" ? lfqBert(inputs, cfg, ctx) : bert(inputs, cfg, ctx);
}

/** The model's parameter and buffer specs, from a symbolic graph (no weights are allocated). */
export function generatorParamSpecs(cfg: GeneratorConfig): ParamSpec[] {
  const g = new Graph();
  generatorForward(symbolicInputs(g, cfg), cfg, ForwardContext.inference());
  return [...g.paramSpecs.values()];
}

/**
 * Keys of the weights that go through linear projections (attention in/out, MLP, input_proj,
 * last_layer, prediction_layer): the ones reduced-precision inference stores as fp16 or int8.
 * Found by building the forward once with a recording weight source. Embeddings, position
 * embeddings, norms, biases and Bert's tied logit matmul stay float32.
 */
export function linearWeightKeys(cfg: GeneratorConfig): string[] {
  const g = new Graph();
  const keys: string[] = [];
  g.reducedWeights = { dtype: "int8", get: (key) => { keys.push(key); return undefined; } };
  generatorForward(symbolicInputs(g, cfg), cfg, ForwardContext.inference());
  return keys;
}

/** Number of trainable parameters (torch's `sum(p.numel() for p in model.parameters())`). */
export const countParameters = (specs: readonly ParamSpec[]): number =>
  specs.filter((s) => s.trainable).reduce((n, s) => n + shapeSize(s.shape), 0);

/** Graph inputs "tokens", "labels", "dropLabel" with a symbolic batch "B" (or a fixed one). */
export function symbolicInputs(g: Graph, cfg: GeneratorConfig, batch: number | string = "B"): GeneratorInputs {
  return {
    tokens: g.input("tokens", "int64", [batch, seqLen(cfg), cfg.groups]),
    labels: g.input("labels", "int64", [batch]),
    dropLabel: g.input("dropLabel", "bool", [batch]),
  };
}

