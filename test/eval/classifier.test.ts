import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { ParamStore } from "../../src/engine/params.js";
import { Rng } from "../../src/engine/rng.js";
import { CheckpointError, ConfigError, FeedError } from "../../src/engine/errors.js";
import { smallClassifierFashionMnist, smallClassifierSpecs } from "../../src/models/perceptual/small-classifier.js";
import {
  DEFAULT_CLASSIFIER_PATH, InDomainClassifier, classAccuracy, fashionMnistEvalImages, parseClassifierConfig,
  readClassifierFile, writeClassifierFile,
} from "../../src/eval/classifier.js";
import { FeatureStats } from "../../src/eval/feature-stats.js";
import { frechetDistance } from "../../src/eval/frechet.js";

const cfg = smallClassifierFashionMnist;
const session = { threads: 2 };

test("classifier config: JSON round trip; unknown keys, bad values and invalid architectures are ConfigErrors", () => {
  assert.deepEqual(parseClassifierConfig(JSON.stringify(cfg)), cfg);
  assert.throws(() => parseClassifierConfig(JSON.stringify({ ...cfg, depth: 3 })), (e: unknown) => e instanceof ConfigError && e.got.includes("depth"));
  assert.throws(() => parseClassifierConfig(JSON.stringify({ ...cfg, width: 2.5 })), ConfigError);
  assert.throws(() => parseClassifierConfig(JSON.stringify({ ...cfg, mean: ["0.5"] })), ConfigError);
  assert.throws(() => parseClassifierConfig(JSON.stringify({ ...cfg, width: 12 })), ConfigError, "12 is not a multiple of the GroupNorm groups");
  assert.deepEqual(parseClassifierConfig(JSON.stringify({ ...cfg, arch: "residual" })), { ...cfg, arch: "residual" });
  assert.throws(() => parseClassifierConfig(JSON.stringify({ ...cfg, arch: "vgg" })), (e: unknown) => e instanceof ConfigError && e.got.includes("vgg"));
  assert.throws(() => parseClassifierConfig("[1, 2]"), ConfigError);
  assert.throws(() => parseClassifierConfig("{"), ConfigError);
});

test("classifier file: write then read gives the weights, config and facts; 28x28 input is resized in-graph", async () => {
  const dir = mkdtempSync(join(tmpdir(), "maskbit-clf-"));
  try {
    const path = join(dir, "c.safetensors");
    const params = ParamStore.init(smallClassifierSpecs(cfg), 3);
    writeClassifierFile(path, params.values, cfg, { test_accuracy: 0.5, seed: 3 });
    const file = readClassifierFile(path);
    assert.deepEqual(file.config, cfg);
    assert.equal(file.metadata.test_accuracy, "0.5");
    assert.deepEqual(file.params.get("head.weight")!.data, params.get("head.weight")!.data);
    assert.throws(() => readClassifierFile(join(dir, "missing.safetensors")), CheckpointError);

    const clf = new InDomainClassifier(file.config, file.params, file.metadata, { session, batchSize: 3 });
    const rng = new Rng(5);
    const x = HostTensor.f32(Array.from({ length: 5 * 28 * 28 }, () => rng.uniform()), [5, 1, 28, 28]);
    const out = await clf.run(x);
    assert.deepEqual(out.features.shape, [5, 128]);
    assert.deepEqual(out.logits.shape, [5, 10]);
    assert.deepEqual(out.predictions.shape, [5]);
    // Chunking (batchSize 3 over 5 images) gives the same result as one run.
    const one = new InDomainClassifier(file.config, file.params, {}, { session });
    const whole = await one.run(x);
    await one.dispose();
    assert.deepEqual(out.predictions.data, whole.predictions.data);
    assert.ok(out.features.data.every((v, i) => Math.abs(v - whole.features.data[i]!) < 1e-5));
    assert.throws(() => classAccuracy(out.predictions, [1, 2]), FeedError);
    await assert.rejects(clf.run(HostTensor.zeros("float32", [2, 3, 32, 32])), FeedError);
    await clf.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("shipped classifier: >= 0.9 accuracy on the first 2,000 test images; FD of two real halves << FD real vs noise", async () => {
  const clf = InDomainClassifier.load(DEFAULT_CLASSIFIER_PATH, { session });
  assert.ok(Number(clf.metadata.test_accuracy) >= 0.9, `model card accuracy ${clf.metadata.test_accuracy}`);
  const real = await fashionMnistEvalImages({ split: "test", count: 2000 });
  const out = await clf.run(real.images);
  assert.deepEqual(out.features.shape, [2000, clf.featureDim]);
  const accuracy = classAccuracy(out.predictions, real.labels);
  assert.ok(accuracy >= 0.9, `accuracy on test[:2000] ${accuracy}`);

  const rng = new Rng(11);
  const noise = HostTensor.f32(Array.from({ length: 1000 * 32 * 32 }, () => rng.uniform()), [1000, 1, 32, 32]);
  const noiseFeatures = (await clf.run(noise)).features;
  const d = clf.featureDim;
  const gaussian = async (data: Float32Array) => {
    const s = FeatureStats.empty(d, session);
    await s.add(new HostTensor("float32", [data.length / d, d], data));
    const g = await s.gaussian();
    await s.dispose();
    return g;
  };
  const [a, b, n] = await Promise.all([
    gaussian(out.features.data.subarray(0, 1000 * d)), gaussian(out.features.data.subarray(1000 * d)), gaussian(noiseFeatures.data),
  ]);
  const halves = (await frechetDistance(a, b, { session })).fid;
  const vsNoise = (await frechetDistance(a, n, { session })).fid;
  assert.ok(halves >= 0 && halves * 20 < vsNoise, `FD real halves ${halves}, real vs noise ${vsNoise}`);
  await clf.dispose();
});

test("shipped perceptual net (models/fmnist-perceptual): residual, trained on padded images, >= 0.85 on padded test[:2000]; not the evaluator", async () => {
  const path = join(import.meta.dirname, "../../models/fmnist-perceptual/classifier.safetensors");
  const file = readClassifierFile(path);
  assert.equal(file.config.arch, "residual");
  assert.equal(file.metadata.train_fit, "pad");
  assert.notEqual(file.metadata.seed, readClassifierFile(DEFAULT_CLASSIFIER_PATH).metadata.seed);
  const clf = new InDomainClassifier(file.config, file.params, file.metadata, { session, imageFit: "pad" });
  const real = await fashionMnistEvalImages({ split: "test", count: 2000, fit: "pad" });
  const accuracy = classAccuracy((await clf.run(real.images)).predictions, real.labels);
  await clf.dispose();
  assert.ok(accuracy >= 0.85, `accuracy on padded test[:2000] ${accuracy}`);
});
