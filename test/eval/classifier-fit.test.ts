import { test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { ConfigError } from "../../src/engine/errors.js";
import { loadFashionMnist } from "../../src/data/fashion-mnist.js";
import { subset } from "../../src/data/dataset.js";
import { BatchLoader, type Fit } from "../../src/data/loader.js";
import { DEFAULT_TRAIN_FIT, classifierFitOf, mapToClassifierFit, type ClassifierFit } from "../../src/eval/classifier-fit.js";
import { DEFAULT_CLASSIFIER_PATH, InDomainClassifier, classAccuracy, readClassifierFile } from "../../src/eval/classifier.js";
import { Rng, evaluate1 } from "../engine/helpers.js";

const N = 200;

async function realTestImages(fit: Fit): Promise<{ images: HostTensor<Float32Array>; labels: HostTensor<BigInt64Array> }> {
  const data = await loadFashionMnist({ split: "test" });
  const loader = new BatchLoader(subset(data, Array.from({ length: N }, (_, i) => i)), { batchSize: N, seed: 0, shuffle: false, dropLast: false, prefetch: false, size: 32, fit });
  const b = await loader.next();
  return { images: b.images, labels: b.labels };
}

const RESIZE_28: ClassifierFit = { trainFit: "resize", sourceSize: 28 };

test("padded real test images mapped to a resize-trained classifier's fit are the loader's resized images", async () => {
  const padded = await realTestImages("pad"), resized = await realTestImages("resize");
  const mapped = await evaluate1((x) => mapToClassifierFit(x, "pad", RESIZE_28, 32), [padded.images]);
  assert.deepEqual([...mapped.shape], [N, 1, 32, 32]);
  let worst = 0, differing = 0;
  for (let i = 0; i < mapped.size; i++) {
    const d = Math.abs((mapped.data as Float32Array)[i]! - resized.images.data[i]!);
    worst = Math.max(worst, d);
    if (d > 0) differing++;
  }
  assert.ok(worst < 1e-6, `largest difference ${worst} (${differing} of ${mapped.size} pixels differ)`);
  // The comparison can fail: the padded images themselves are far from the resized ones.
  let apart = 0;
  for (let i = 0; i < padded.images.size; i++) apart = Math.max(apart, Math.abs(padded.images.data[i]! - resized.images.data[i]!));
  assert.ok(apart > 0.5, `padded vs resized differ by ${apart}`);
});

test("the mapping does nothing when the image fit is the classifier's; resized images for a pad-trained one are an error", async () => {
  const rng = new Rng(3);
  const x = HostTensor.f32(Array.from({ length: 2 * 32 * 32 }, () => rng.uniform()), [2, 1, 32, 32]);
  for (const fit of ["pad", "resize"] as const) {
    const y = await evaluate1((t) => mapToClassifierFit(t, fit, { trainFit: fit, sourceSize: 28 }, 32), [x]);
    assert.deepEqual(y.data, x.data, `fit ${fit}`);
  }
  await assert.rejects(evaluate1((t) => mapToClassifierFit(t, "resize", { trainFit: "pad", sourceSize: 28 }, 32), [x]), ConfigError);
});

test("training fit from metadata: train_fit, else the free-text fit fact, else the default; bad values are ConfigErrors", () => {
  assert.deepEqual(classifierFitOf({ train_fit: "pad", source_size: "28" }), { trainFit: "pad", sourceSize: 28 });
  assert.deepEqual(classifierFitOf({ fit: "bilinear resize 28->32 (BatchLoader fit resize)" }), RESIZE_28);
  assert.deepEqual(classifierFitOf({ fit: "zero pad 28->32" }), { trainFit: "pad", sourceSize: 28 });
  assert.deepEqual(classifierFitOf({}), { trainFit: DEFAULT_TRAIN_FIT, sourceSize: 28 });
  assert.throws(() => classifierFitOf({ train_fit: "crop" }), ConfigError);
  assert.throws(() => classifierFitOf({ fit: "something else" }), ConfigError);
  assert.throws(() => classifierFitOf({ train_fit: "pad", source_size: "0" }), ConfigError);
  // The shipped evaluator was trained on resized images, and says so.
  assert.equal(classifierFitOf(readClassifierFile(DEFAULT_CLASSIFIER_PATH).metadata).trainFit, "resize");
});

test("shipped classifier on padded real images: mapped, it scores as on resized images; unmapped it does worse", async () => {
  const session = { threads: 2 };
  const padded = await realTestImages("pad"), resized = await realTestImages("resize");
  const mapping = InDomainClassifier.load(DEFAULT_CLASSIFIER_PATH, { session, imageFit: "pad" });
  const plain = InDomainClassifier.load(DEFAULT_CLASSIFIER_PATH, { session });
  try {
    const viaMap = await mapping.run(padded.images), onResized = await plain.run(resized.images);
    assert.deepEqual(viaMap.predictions.data, onResized.predictions.data);
    let worst = 0;
    for (let i = 0; i < viaMap.features.size; i++) worst = Math.max(worst, Math.abs(viaMap.features.data[i]! - onResized.features.data[i]!));
    assert.ok(worst < 1e-4, `feature difference ${worst}`);
    const unmapped = classAccuracy((await plain.run(padded.images)).predictions, padded.labels);
    const mapped = classAccuracy(viaMap.predictions, padded.labels);
    assert.ok(mapped > unmapped, `mapped ${mapped} vs unmapped ${unmapped}`);
  } finally {
    await Promise.all([mapping.dispose(), plain.dispose()]);
  }
});
