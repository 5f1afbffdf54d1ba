// Recipe parsing: the official YAMLs map onto the released settings (once pointed at a supported
// dataset), the shipped Fashion-MNIST recipes parse, and mistakes fail with the YAML path to fix.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { applyOverrides, loadYaml } from "../../src/config/yaml.js";
import { ConfigError } from "../../src/engine/errors.js";
import { TOKENIZER_ADAMW, GENERATOR_ADAMW } from "../../src/engine/optim/index.js";
import { parseTokenizerRecipe } from "../../src/train/tokenizer-recipe.js";
import { parseGeneratorRecipe } from "../../src/train/generator-recipe.js";
import { tokenizer10bit, latentStride } from "../../src/models/tokenizer/config.js";
import { lossOfficial } from "../../src/models/tokenizer/loss-config.js";
import { discriminatorOfficial } from "../../src/models/tokenizer/discriminator.js";
import { generator10bit } from "../../src/models/generator/config.js";
import { CONFIGS, tinyTokenizerDoc } from "./helpers.js";

const OFFICIAL = join(import.meta.dirname, "../../../shared/reference/official-configs");
const fmnistTok = () => loadYaml(join(CONFIGS, "fmnist_tokenizer.yaml"));
const fmnistGen = () => loadYaml(join(CONFIGS, "fmnist_generator.yaml"));
const configError = (scope: RegExp) => (e: unknown) => e instanceof ConfigError && scope.test(e.scope ?? "") ;

test("official tokenizer YAML: webdataset shards are refused; with a supported dataset it is the released recipe", () => {
  const doc = loadYaml(join(OFFICIAL, "tokenizer/maskbit_tokenizer_10bit.yaml"));
  assert.throws(() => parseTokenizerRecipe(doc), configError(/^dataset\.params\.dataset$/));
  assert.throws(() => parseTokenizerRecipe(applyOverrides(doc, ["+dataset.params.dataset=image-folder"])), configError(/^experiment\.perceptual_checkpoint$/));
  const r = parseTokenizerRecipe(applyOverrides(doc, ["+dataset.params.dataset=image-folder", "+experiment.perceptual_checkpoint=resnet50-0676ba61.pth"]));
  assert.deepEqual(r.tokenizer, tokenizer10bit);
  assert.deepEqual(r.losses, lossOfficial);
  assert.deepEqual(r.discriminator, discriminatorOfficial);
  assert.deepEqual(r.adamw, TOKENIZER_ADAMW);
  assert.equal(r.learningRate, 1e-4);
  assert.equal(r.discriminatorLearningRate, 1e-4);
  assert.equal(r.warmupSteps, 5000);
  assert.deepEqual(r.training, { batchSize: 16, seed: 42, maxTrainSteps: 1_350_000, useEma: true, emaDecay: 0.999, maxGradNorm: 1, numGeneratedImages: 2, evalSamples: 0 });
  assert.equal(r.dataset.resolution, 256);
  assert.deepEqual(r.dataset.augment, { crop: { scale: [0.8, 1], ratio: [3 / 4, 4 / 3], filter: "bilinear" }, flipProbability: 0.5 });
});

test("official generator YAML: maps onto the released 10-bit generator and the official AdamW", () => {
  const doc = applyOverrides(loadYaml(join(OFFICIAL, "generator/maskbit_generator_10bit.yaml")), ["+dataset.params.dataset=image-folder"]);
  const r = parseGeneratorRecipe(doc, tokenizer10bit, "maskbit_tokenizer_10bit.safetensors");
  assert.deepEqual(r.generator, generator10bit);
  assert.deepEqual(r.adamw, GENERATOR_ADAMW);
  assert.deepEqual(r.dataset.augment, { crop: { scale: [0.8, 1], ratio: [1, 1], filter: "bicubic" }, flipProbability: 0.5 });
});

test("Fashion-MNIST recipes: 32x32 grey, K = 10, 8x8 tokens, N = 2 groups, no augmentation", () => {
  const t = parseTokenizerRecipe(fmnistTok());
  assert.equal(t.tokenizer.numChannels, 1);
  assert.equal(t.tokenizer.tokenSize, 10);
  assert.equal(t.dataset.resolution / latentStride(t.tokenizer), 8);
  assert.equal(t.dataset.fit, "pad");
  assert.deepEqual(t.dataset.augment, { crop: null, flipProbability: 0 });
  assert.equal(t.losses.perceptualWeight, 0);
  const g = parseGeneratorRecipe(fmnistGen(), t.tokenizer, "tok.safetensors");
  assert.equal(g.generator.tokenGrid, 8);
  assert.equal(g.generator.groups, 2);
  assert.equal(g.generator.numClasses, 10);
  assert.deepEqual([g.adamw.beta1, g.adamw.beta2, g.adamw.weightDecay, g.adamw.maxGradNorm], [0.9, 0.96, 0.045, 1]);
});

test("recipe errors name the YAML path", () => {
  const tok = fmnistTok();
  const bad = (overrides: string[], scope: RegExp) => assert.throws(() => parseTokenizerRecipe(applyOverrides(tok, overrides)), configError(scope), overrides.join(" "));
  bad(["+training.epochs=3"], /^training$/);
  bad(["training.gradient_accumulation_steps=2"], /^training\.gradient_accumulation_steps$/);
  bad(["training.mixed_precision=bf16"], /^training\.mixed_precision$/);
  bad(["model.discriminator.num_channels=3"], /^model\.discriminator\.num_channels$/);
  bad(["losses.perceptual_weight=0.1"], /^experiment\.perceptual_checkpoint$/);
  bad(["dataset.preprocessing.resolution=30"], /^dataset\.preprocessing\.resolution$/);
  bad(["dataset.preprocessing.fit=stretch"], /^dataset\.preprocessing\.fit$/);
  bad(["lr_scheduler.scheduler=linear"], /^lr_scheduler\.scheduler$/);
  bad(["lr_scheduler.params.learning_rate=0.5"], /^lr_scheduler\.params\.learning_rate$/);
  bad(["optimizer.params.scale_lr=true"], /^optimizer\.params\.scale_lr$/);
  bad(["experiment.init_checkpoint=x.bin"], /^experiment\.init_checkpoint$/);
  bad(["dataset.params.augmented_copies=2"], /^dataset\.params\.augmented_copies$/);
  const t = parseTokenizerRecipe(tinyTokenizerDoc()).tokenizer;
  assert.throws(() => parseGeneratorRecipe(fmnistGen(), t, "tiny.safetensors"), (e: unknown) => e instanceof ConfigError && e.scope === "model.vq_model" && /num_resolutions 2/.test(e.expected));
  assert.throws(() => parseGeneratorRecipe(applyOverrides(fmnistGen(), ["+model.extra=1"]), t, "x"), configError(/^model$/));
});
