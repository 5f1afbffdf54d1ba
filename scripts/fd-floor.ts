// The real-data floor of FD-FMNIST: the Fréchet distance between classifier features of the first
// N training images and N test images, both fitted 28 -> 32 like the shipped models (pad or resize),
// then mapped into the classifier's own training fit as the eval commands do (classifier-fit.ts).
//   npx tsx scripts/fd-floor.ts [--count 10000] [--fit pad|resize] [--threads 1] [--per-class]
// --per-class also prints the classifier's accuracy per class on those test images (the ceiling
// that eval-generator's per-class sample accuracy is compared with).

import "../src/node/platform.js";
import { parseArgs } from "node:util";
import { loadFashionMnist } from "../src/data/fashion-mnist.js";
import { subset } from "../src/data/dataset.js";
import { BatchLoader, type Fit } from "../src/data/loader.js";
import { InDomainClassifier } from "../src/eval/classifier.js";
import { FeatureStats } from "../src/eval/feature-stats.js";
import { frechetDistance } from "../src/eval/frechet.js";

const { values } = parseArgs({ options: { count: { type: "string", default: "10000" }, fit: { type: "string", default: "pad" }, threads: { type: "string", default: "0" }, "per-class": { type: "boolean", default: false } } });
const count = Number(values.count), fit = values.fit as Fit;
const session = { threads: Number(values.threads) };
const classifier = InDomainClassifier.load(undefined, { imageFit: fit, session });
const correct = new Array<number>(10).fill(0), seen = new Array<number>(10).fill(0);

async function stats(split: "train" | "test"): Promise<FeatureStats> {
  const data = await loadFashionMnist({ split });
  const n = Math.min(count, data.count);
  const loader = new BatchLoader(subset(data, Array.from({ length: n }, (_, i) => i)), { batchSize: 100, seed: 0, shuffle: false, dropLast: false, size: 32, fit });
  let acc: FeatureStats | undefined;
  for (let done = 0; done < n;) {
    const batch = await loader.next();
    const { features, predictions } = await classifier.run(batch.images);
    if (split === "test") {
      for (let i = 0; i < predictions.size; i++) {
        const y = Number(batch.labels.at(i));
        seen[y]!++;
        if (predictions.at(i) === y) correct[y]!++;
      }
    }
    acc ??= FeatureStats.empty(features.shape[1]!, session);
    await acc.add(features);
    done += batch.images.shape[0]!;
  }
  return acc!;
}

const [train, test] = [await stats("train"), await stats("test")];
const fd = await frechetDistance(await train.gaussian(), await test.gaussian(), { session });
const accuracy = correct.reduce((a, b) => a + b, 0) / seen.reduce((a, b) => a + b, 0);
const perClass = values["per-class"] ? { test_per_class_accuracy: correct.map((c, k) => Number((c / seen[k]!).toFixed(4))) } : {};
console.log(JSON.stringify({ count, fit, classifier_train_fit: classifier.fit.trainFit, fd_floor_train_test: fd.fid, test_accuracy: accuracy, ...perClass }));
await Promise.all([train.dispose(), test.dispose(), classifier.dispose()]);
