import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Graph, type Tensor } from "../../../src/engine/graph/tensor.js";
import { grad } from "../../../src/engine/autodiff/grad.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { ParamStore } from "../../../src/engine/params.js";
import { loadGoldenCase } from "../../../src/io/golden.js";
import { tokenizer10bit, type TokenizerConfig } from "../../../src/models/tokenizer/config.js";
import { latentFromIds, quantize } from "../../../src/models/tokenizer/quantizer.js";
import { bitsToIndicesTable, lfqCodebookTable } from "../../../src/models/tokenizer/lfq.js";
import { expectGolden } from "../expect-golden.js";
import { runGraph } from "../../engine/helpers.js";

const GOLDEN = join(import.meta.dirname, "../../../../shared/golden");
const lfqConfig = (bits: number): TokenizerConfig => ({ ...tokenizer10bit, tokenSize: bits });

test("ids <-> bits round trip for all 2^10 ids (decode then re-quantize)", async () => {
  const g = new Graph();
  const ids = g.input("ids", "int64", [1, 32, 32]);
  const cfg = lfqConfig(10);
  const back = quantize(latentFromIds(ids, cfg), cfg, { training: false }).ids;
  const all = HostTensor.i64(Array.from({ length: 1024 }, (_, i) => i), [1, 32, 32]);
  const res = await runGraph(g, { back }, { ids: all }, ParamStore.init(g.paramSpecs.values(), 0));
  assert.deepEqual(res.back!.toNumbers(), all.toNumbers());
});

test("buffers bits_to_indices and codebook equal the official state dict's (tokenizer_k10 weights)", () => {
  const weights = loadGoldenCase(join(GOLDEN, "tokenizer_k10")).weights!;
  const powers = weights.get("quantize.bits_to_indices")!;
  const codebook = weights.get("quantize.codebook")!;
  assert.equal(powers.dtype, "int32");
  assert.deepEqual(bitsToIndicesTable(10).toNumbers(), powers.toNumbers());
  assert.deepEqual([...lfqCodebookTable(10).shape], [...codebook.shape]);
  assert.deepEqual(lfqCodebookTable(10).toNumbers(), codebook.toNumbers());
});

test("z exactly 0 quantizes to -1 (bit 0), as torch.where(z > 0, 1, -1)", async () => {
  const z = HostTensor.f32([0, -0, 1e-30, -1e-30], [1, 4, 1, 1]);
  const g = new Graph();
  const q = quantize(g.input("z", "float32", z.shape), lfqConfig(4), { training: false });
  const got = await runGraph(g, { q_hard: q.latent, ids: q.ids }, { z }, ParamStore.init(g.paramSpecs.values(), 0));
  assert.deepEqual(got.q_hard!.toNumbers(), [-1, -1, 1, -1]);
  assert.deepEqual(got.ids!.toNumbers(), [4]);
});

test("entropyMultiplier scales only the entropy part of quantizerLoss", async () => {
  const c = loadGoldenCase(join(GOLDEN, "lfq_k10"));
  const g = new Graph();
  const z = g.input("z", "float32", [2, 10, 4, 4]);
  const m = g.input("m", "float32", []);
  const q = quantize(z, lfqConfig(10), { training: true, entropyMultiplier: m });
  const res = await runGraph(g, { loss: q.losses.quantizerLoss }, { z: c.tensors.get("z_small")!, m: HostTensor.scalar(3) }, ParamStore.init(g.paramSpecs.values(), 0));
  const expected = c.tensors.get("commitment_loss_small")!.at(0) + 3 * c.tensors.get("entropy_loss_small")!.at(0);
  assert.ok(Math.abs(res.loss!.at(0) - expected) < 1e-6, `${res.loss!.at(0)} vs ${expected}`);
});
