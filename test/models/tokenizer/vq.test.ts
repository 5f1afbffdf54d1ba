// The VQ (lookup) quantizer of the VQGAN+ baselines against a plain-JS reference: nearest rows by
// squared distance, commitment + codebook losses, the entropy term, straight-through gradients.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { grad } from "../../../src/engine/autodiff/grad.js";
import { ParamStore } from "../../../src/engine/params.js";
import { add, mul, reduceSum } from "../../../src/engine/ops/index.js";
import { vqganPlus10bit, type TokenizerConfig, type VqConfig } from "../../../src/models/tokenizer/config.js";
import { latentFromIds, quantize } from "../../../src/models/tokenizer/quantizer.js";
import { Rng, assertClose, randn, runGraph } from "../../engine/helpers.js";

const N = 8, D = 4, B = 2, H = 3, W = 3, R = B * H * W;
const vq = (o: Partial<VqConfig>): TokenizerConfig => ({ ...vqganPlus10bit, tokenSize: D, quantizer: { ...vqganPlus10bit.quantizer, codebookSize: N, ...o } as VqConfig });

/** Rows of z [B, D, H, W] in (b, h, w) order. */
function rowsOf(z: number[]): number[][] {
  const rows: number[][] = [];
  for (let b = 0; b < B; b++) for (let i = 0; i < H * W; i++) rows.push(Array.from({ length: D }, (_, d) => z[(b * D + d) * H * W + i]!));
  return rows;
}

async function run(cfg: TokenizerConfig, seed: number) {
  const g = new Graph();
  const z = g.input("z", "float32", [B, D, H, W]);
  const weight = g.input("w", "float32", [B, D, H, W]);
  const q = quantize(z, cfg, { training: true });
  const table = g.params.get("quantize.embedding.weight")!;
  // quantizer loss plus a probe through the straight-through output.
  const objective = add(q.losses.quantizerLoss, reduceSum(mul(q.zQuantized, weight)));
  const [dz, dTable] = grad(objective, [z, table]);
  const decoded = latentFromIds(q.ids, cfg);
  const rng = new Rng(seed);
  const params = new ParamStore([["quantize.embedding.weight", randn(rng, [N, D])]]);
  const feeds = { z: randn(rng, [B, D, H, W]), w: randn(rng, [B, D, H, W]) };
  const out = await runGraph(g, {
    ids: q.ids, zq: q.zQuantized, latent: q.latent, decoded, loss: q.losses.quantizerLoss, commitment: q.losses.commitmentLoss,
    codebook: q.losses.codebookLoss!, entropy: q.losses.entropyLoss, dz: dz!, dTable: dTable!,
  }, feeds, params);
  return { out, z: feeds.z.toNumbers(), w: feeds.w.toNumbers(), table: params.get("quantize.embedding.weight")!.toNumbers() };
}

test("VQ 8 codes x 4 dims: nearest row ids, losses, straight-through and codebook gradients match a JS reference", async () => {
  const weight = 0.1, temperature = 0.5;
  const { out, z, w, table } = await run(vq({ entropyLossWeight: weight, entropyTemperature: temperature, entropyGamma: 1.2 }), 11);
  const rows = rowsOf(z);
  const code = (c: number) => table.slice(c * D, (c + 1) * D);
  const dist = rows.map((r) => Array.from({ length: N }, (_, c) => code(c).reduce((s, e, d) => s + (r[d]! - e) ** 2, 0)));
  const ids = dist.map((d) => d.indexOf(Math.min(...d)));
  assert.deepEqual(out.ids!.toNumbers(), ids);
  assert.deepEqual([...out.ids!.shape], [B, H, W]);

  let sq = 0;
  rows.forEach((r, i) => r.forEach((v, d) => (sq += (code(ids[i]!)[d]! - v) ** 2)));
  const mse = sq / (R * D);
  // Entropy on affinities -d / T, clamped logs, as the LFQ case.
  const probs = dist.map((d) => { const e = d.map((v) => Math.exp(-v / temperature)); const s = e.reduce((a, b) => a + b); return e.map((v) => v / s); });
  const h = (p: number[]) => -p.reduce((s, v) => s + v * Math.log(Math.max(v, 1e-5)), 0);
  const perSample = probs.reduce((s, p) => s + h(p), 0) / R;
  const avg = 1.2 * h(Array.from({ length: N }, (_, c) => probs.reduce((s, p) => s + p[c]!, 0) / R));
  assertClose(out.commitment!, [0.25 * mse], { atol: 1e-6 });
  assertClose(out.codebook!, [mse], { atol: 1e-6 });
  assertClose(out.entropy!, [weight * (perSample - avg)], { atol: 1e-6 });
  assertClose(out.loss!, [1.25 * mse + weight * (perSample - avg)], { atol: 1e-6 });

  // Forward value of the straight-through output is the chosen row, and decoding the ids gives it back.
  const chosen = z.map((_, flat) => { const b = Math.floor(flat / (D * H * W)), d = Math.floor(flat / (H * W)) % D, i = flat % (H * W); return code(ids[b * H * W + i]!)[d]!; });
  assertClose(out.zq!, chosen, { atol: 1e-6 });
  assertClose(out.latent!, chosen, { atol: 0 });
  assertClose(out.decoded!, chosen, { atol: 0 });

  // Gradients, with the entropy term off (its value is checked above): d/dz = w through the
  // straight-through output plus the commitment term -0.5 (q - z) / numel.
  const noEntropy = await run(vq({}), 11);
  const dzExpected = z.map((v, i) => w[i]! - (0.5 * (chosen[i]! - v)) / (R * D));
  assertClose(noEntropy.out.dz!, dzExpected, { atol: 1e-6 });
  // d/dtable: codebook loss 2 (q - z) / numel added to each chosen row.
  const dTable = new Float64Array(N * D);
  rows.forEach((r, i) => r.forEach((v, d) => (dTable[ids[i]! * D + d]! += (2 * (code(ids[i]!)[d]! - v)) / (R * D))));
  assertClose(noEntropy.out.dTable!, dTable, { atol: 1e-6 });
});

test("VQ with use_l2_normalisation: ids maximise cosine similarity, latents are unit rows", async () => {
  const { out, z, table } = await run(vq({ l2Normalize: true }), 5);
  const unit = (v: number[]) => { const n = Math.hypot(...v); return v.map((x) => x / n); };
  const codes = Array.from({ length: N }, (_, c) => unit(table.slice(c * D, (c + 1) * D)));
  const ids = rowsOf(z).map((r) => { const u = unit(r); const cos = codes.map((c) => c.reduce((s, v, d) => s + v * u[d]!, 0)); return cos.indexOf(Math.max(...cos)); });
  assert.deepEqual(out.ids!.toNumbers(), ids);
  const lat = out.latent!.toNumbers();
  for (let i = 0; i < H * W; i++) assert.ok(Math.abs(Math.hypot(...Array.from({ length: D }, (_, d) => lat[d * H * W + i]!)) - 1) < 1e-5);
});

test("VQ state dict: quantize.embedding.weight [codebook_size, token_size], initialised U(-1/N, 1/N)", () => {
  const g = new Graph();
  quantize(g.input("z", "float32", [1, 256, 1, 1]), vqganPlus10bit, { training: false });
  const spec = g.paramSpecs.get("quantize.embedding.weight")!;
  assert.deepEqual(spec.shape, [1024, 256]);
  assert.deepEqual(spec.init, { kind: "uniform", bound: 1 / 1024 });
  assert.deepEqual([...g.paramSpecs.keys()], ["quantize.embedding.weight"]);
});
