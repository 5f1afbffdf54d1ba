// The generator's raw output for a given token grid and label: what one forward pass of the
// official module returns (before guidance, temperature or sampling), for users who check or
// build on the model. Generator.logits compiles this graph once per batch size.

import { Graph, type Tensor } from "../../engine/graph/tensor.js";
import { HostTensor } from "../../engine/host-tensor.js";
import { ForwardContext } from "../../engine/nn/index.js";
import { where } from "../../engine/ops/index.js";
import type { ReducedWeights } from "../../engine/quant/weights.js";
import { FeedError, fmtShape } from "../../engine/errors.js";
import { requireLabels, requireOptions, requireTensor } from "../argument-checks.js";
import { splitIds } from "./bit-groups.js";
import { generatorForward } from "./transformer.js";
import { groupBits, groupVocab, maskId, seqLen, type GeneratorConfig } from "./config.js";

export interface LogitsRequest {
  /** Token ids int64 [B, L] or [B, h, w] (L = h*w = tokenGrid^2), each in [0, 2^tokenBits). */
  readonly ids: HostTensor;
  /** One class label per image, in [0, numClasses). */
  readonly labels: readonly number[];
  /**
   * Slots to replace by the mask token before the forward pass: bool [B, L, groups] (one flag per
   * bit group) or [B, L] (whole tokens). Default: nothing masked.
   */
  readonly mask?: HostTensor;
  /** Use the null class (the unconditional half of classifier-free guidance). Default false. */
  readonly unconditional?: boolean;
}

/** Graph inputs ids [B, L], mask [B, L, N], labels [B], dropLabel [B] -> logits [B, L, N, 2^b]. */
export function buildLogitsGraph(cfg: GeneratorConfig, batch: number, weights?: ReducedWeights): { graph: Graph; outputs: Record<string, Tensor> } {
  const g = new Graph();
  g.reducedWeights = weights;
  const l = seqLen(cfg), n = cfg.groups;
  const ids = g.input("ids", "int64", [batch, l]);
  const mask = g.input("mask", "bool", [batch, l, n]);
  const tokens = where(mask, maskId(cfg), splitIds(ids, { groups: n, groupBits: groupBits(cfg) }));
  const out = generatorForward({ tokens, labels: g.input("labels", "int64", [batch]), dropLabel: g.input("dropLabel", "bool", [batch]) }, cfg, ForwardContext.inference());
  return { graph: g, outputs: { logits: out.logits } };
}

/** Checks a request against the config and turns it into the graph's feeds. */
export function logitsFeeds(cfg: GeneratorConfig, r: LogitsRequest): Record<string, HostTensor> {
  const op = "Generator.logits";
  requireOptions(op, r, "a request { ids, labels, mask?, unconditional? }");
  requireLabels(op, r.labels);
  requireTensor(op, "ids", r.ids, `ids int64[B, ${seqLen(cfg)}] or int64[B, ${cfg.tokenGrid}, ${cfg.tokenGrid}]`);
  const l = seqLen(cfg), n = cfg.groups, b = r.labels.length;
  const fail = (expected: string, got: string) => new FeedError({ op, expected, got });
  if (b === 0) throw fail("at least one label", "none");
  const grid = [b, cfg.tokenGrid, cfg.tokenGrid];
  const shapeOk = r.ids.shape.length === 2 ? r.ids.shape[0] === b && r.ids.shape[1] === l : r.ids.shape.length === 3 && r.ids.shape.every((d, i) => d === grid[i]);
  if (r.ids.dtype !== "int64" || !shapeOk) throw fail(`ids int64[${b}, ${l}] or int64${fmtShape(grid)}`, `${r.ids.dtype}${fmtShape(r.ids.shape)}`);
  const limit = 2n ** BigInt(cfg.tokenBits);
  const data = r.ids.data as BigInt64Array;
  for (let i = 0; i < data.length; i++) if (data[i]! < 0n || data[i]! >= limit) throw fail(`ids in [0, ${limit})`, `${data[i]} at flat index ${i}`);
  r.labels.forEach((y, i) => {
    if (!Number.isInteger(y) || y < 0 || y >= cfg.numClasses) throw fail(`labels in [0, ${cfg.numClasses})`, `${y} at index ${i}`);
  });
  const mask = new Uint8Array(b * l * n);
  if (r.mask !== undefined) {
    const m = r.mask;
    requireTensor(op, "mask", m, `mask bool[${b}, ${l}, ${n}] or bool[${b}, ${l}]`);
    const perGroup = m.shape.length === 3 && m.shape[0] === b && m.shape[1] === l && m.shape[2] === n;
    const perToken = m.shape.length === 2 && m.shape[0] === b && m.shape[1] === l;
    if (m.dtype !== "bool" || !(perGroup || perToken)) throw fail(`mask bool[${b}, ${l}, ${n}] or bool[${b}, ${l}]`, `${m.dtype}${fmtShape(m.shape)}`);
    const flags = m.data as Uint8Array;
    for (let i = 0; i < mask.length; i++) mask[i] = flags[perGroup ? i : Math.floor(i / n)]! ? 1 : 0;
  }
  return {
    ids: r.ids.reshape([b, l]),
    mask: new HostTensor("bool", [b, l, n], mask),
    labels: HostTensor.i64(r.labels),
    dropLabel: new HostTensor("bool", [b], new Uint8Array(b).fill(r.unconditional ? 1 : 0)),
  };
}

/** [B, L, groups, 2^(tokenBits/groups)]: the logits' shape for a batch. */
export const logitsShape = (cfg: GeneratorConfig, batch: number): number[] => [batch, seqLen(cfg), cfg.groups, groupVocab(cfg)];
