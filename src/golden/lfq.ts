// Golden kind "lfq": the lookup-free quantizer on a latent z (and on z_small, a soft-entropy
// regime): hard bits, straight-through output, ids, commitment and entropy terms, d(loss)/dz,
// the eval-mode loss, and decoding probe ids to bits.

import { ConfigError } from "../engine/errors.js";
import { Graph, type Tensor } from "../engine/graph/tensor.js";
import { grad } from "../engine/autodiff/grad.js";
import { CompiledGraph } from "../engine/runtime/session.js";
import { ParamStore } from "../engine/params.js";
import { transpose, reshape } from "../engine/ops/index.js";
import type { HostTensor } from "../engine/host-tensor.js";
import type { GoldenCase } from "../io/golden.js";
import { tokenizer10bit, type TokenizerConfig } from "../models/tokenizer/config.js";
import { latentFromIds, quantize } from "../models/tokenizer/quantizer.js";
import { checkOutputs, type Check } from "./report.js";

function lfqConfig(c: GoldenCase): TokenizerConfig {
  const num = (k: string, fallback: number) => (typeof c.config[k] === "number" ? (c.config[k] as number) : fallback);
  const base = tokenizer10bit.quantizer;
  if (base.kind !== "lfq") throw new ConfigError({ op: "golden lfq", expected: "an LFQ tokenizer preset", got: base.kind });
  return {
    ...tokenizer10bit,
    tokenSize: num("token_size", 10),
    quantizer: {
      ...base,
      commitmentCost: num("commitment_cost", base.commitmentCost),
      entropyLossWeight: num("entropy_loss_weight", base.entropyLossWeight),
      entropyTemperature: num("entropy_loss_temperature", base.entropyTemperature),
      entropyGamma: num("entropy_gamma", base.entropyGamma),
    },
  };
}

async function run(g: Graph, outputs: Record<string, Tensor>, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const compiled = await CompiledGraph.create(g, outputs, { threads: 2 });
  try {
    return await compiled.run(feeds, ParamStore.init(g.paramSpecs.values(), 0));
  } finally {
    await compiled.dispose();
  }
}

export async function runLfqCase(c: GoldenCase): Promise<Check[]> {
  const cfg = lfqConfig(c);
  const checks: Check[] = [];
  for (const suffix of ["", "_small"]) {
    const z = c.tensors.get(`z${suffix}`);
    if (!z) continue;
    const g = new Graph();
    const zIn = g.input("z", "float32", z.shape);
    const q = quantize(zIn, cfg, { training: true });
    const [gradZ] = grad(q.losses.quantizerLoss, [zIn]);
    const evalMode = quantize(zIn, cfg, { training: false });
    const got = await run(g, {
      [`q_hard${suffix}`]: q.latent, [`z_quantized${suffix}`]: q.zQuantized, [`ids${suffix}`]: q.ids,
      [`commitment_loss${suffix}`]: q.losses.commitmentLoss, [`per_sample_entropy${suffix}`]: q.losses.perSampleEntropy,
      [`avg_entropy${suffix}`]: q.losses.avgEntropy, [`entropy_loss${suffix}`]: q.losses.entropyLoss,
      [`quantizer_loss${suffix}`]: q.losses.quantizerLoss, [`grad_z${suffix}`]: gradZ!,
      [`quantizer_loss_eval${suffix}`]: evalMode.losses.quantizerLoss,
    }, { z });
    checks.push(...checkOutputs(c, got));
  }
  const probe = c.tensors.get("ids_probe");
  if (probe) {
    const [b, n] = probe.shape as [number, number];
    const g = new Graph();
    const ids = g.input("ids", "int64", [b, 1, n]);
    // latentFromIds gives [B, K, 1, n]; the fixture lists bits per id: [B, n, K].
    const bits = reshape(transpose(latentFromIds(ids, cfg), [0, 2, 3, 1]), [b, n, cfg.tokenSize]);
    checks.push(...checkOutputs(c, await run(g, { bits_of_ids_probe: bits }, { ids: probe.reshape([b, 1, n]) })));
  }
  return checks;
}
