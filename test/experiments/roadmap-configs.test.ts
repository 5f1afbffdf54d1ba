// Each roadmap config differs from the previous one by exactly the paper's change (spec 6.1), and
// every one is a valid tokenizer recipe.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadYaml, type ConfigObject, type ConfigValue } from "../../src/config/yaml.js";
import { parseTokenizerRecipe } from "../../src/train/tokenizer-recipe.js";
import { CONFIG_DIR } from "../../src/experiments/runs.js";
import { ROADMAP } from "../../src/experiments/roadmap.js";

function flatten(v: ConfigValue, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) for (const [kk, vv] of flatten(x, prefix ? `${prefix}.${k}` : k)) out.set(kk, vv);
  } else out.set(prefix, JSON.stringify(v));
  return out;
}

function changed(a: ConfigObject, b: ConfigObject): string[] {
  const fa = flatten(a), fb = flatten(b);
  const keys = new Set([...fa.keys(), ...fb.keys()]);
  return [...keys].filter((k) => fa.get(k) !== fb.get(k) && k !== "experiment.name").sort();
}

const EXPECTED: readonly (readonly string[])[] = [
  [],
  // 1: attention out, symmetric blocks, generator width down to the discriminator's, cosine LR with warmup
  ["lr_scheduler.params.warmup_steps", "lr_scheduler.scheduler", "model.vq_model.hidden_channels", "model.vq_model.mid_attention", "model.vq_model.num_res_blocks_decoder"],
  // 2: capacity for both networks
  ["model.discriminator.hidden_channels", "model.vq_model.hidden_channels"],
  // 3: perceptual loss on logits
  ["losses.perceptual_loss_on_logits"],
  // 4: the VQGAN+ discriminator and LeCam
  ["losses.lecam_regularization_weight", "model.discriminator.blur_kernel_size", "model.discriminator.blur_resample", "model.discriminator.name", "model.discriminator.num_layers", "model.discriminator.num_stages"],
  // 5: EMA, entropy loss, longer training (the checkpoint cadence follows the step count)
  ["experiment.eval_every", "experiment.generate_every", "experiment.save_every", "model.vq_model.entropy_loss_weight", "training.max_train_steps", "training.use_ema"],
  // 6: lookup-free quantization with K = 10 (1024 codes, as the VQ table)
  ["losses.entropy_annealing_factor", "model.vq_model.quantizer_type", "model.vq_model.token_size", "model.vq_model.use_l2_normalisation"],
];

test("roadmap configs: one per step, each differing from the previous by the paper's change only", () => {
  assert.equal(ROADMAP.length, EXPECTED.length);
  const docs = ROADMAP.map((s) => loadYaml(join(CONFIG_DIR, s.file)));
  for (let i = 1; i < docs.length; i++) assert.deepEqual(changed(docs[i - 1]!, docs[i]!), EXPECTED[i], ROADMAP[i]!.file);
});

test("roadmap configs parse as tokenizer recipes with the intended parts", () => {
  const recipes = ROADMAP.map((s) => parseTokenizerRecipe(loadYaml(join(CONFIG_DIR, s.file))));
  const [taming, basic, , , disc, plus, lfq] = recipes;
  assert.equal(taming!.tokenizer.midAttention, true);
  assert.equal(taming!.tokenizer.numResBlocksDecoder, 2);
  assert.equal(taming!.discriminator.kind, "patchgan");
  assert.equal(taming!.tokenizer.quantizer.kind, "vq");
  assert.equal(taming!.tokenizer.quantizer.entropyLossWeight, 0);
  assert.equal(taming!.training.useEma, false);
  assert.equal(taming!.lrMinimumRate, 1, "constant learning rate");
  assert.equal(basic!.lrMinimumRate, undefined);
  assert.equal(basic!.tokenizer.midAttention, undefined);
  assert.equal(disc!.discriminator.kind, undefined);
  assert.equal(plus!.training.useEma, true);
  assert.equal(lfq!.tokenizer.quantizer.kind, "lfq");
  assert.equal(lfq!.tokenizer.tokenSize, 10);
  assert.equal(plus!.tokenizer.quantizer.kind === "vq" && plus!.tokenizer.quantizer.codebookSize, 1024);
});
