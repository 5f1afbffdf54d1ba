// The real-data floor of FD-FMNIST: the Fréchet distance between classifier features of the first
// N training images and N test images, both fitted 28 -> 32 like the shipped models (pad or resize).
//   npx tsx scripts/fd-floor.ts [--count 10000] [--fit pad|resize]

import "../src/node/platform.js";
import { parseArgs } from "node:util";
import { loadFashionMnist } from "../src/data/fashion-mnist.js";
import { subset } from "../src/data/dataset.js";
import { BatchLoader, type Fit } from "../src/data/loader.js";
import { InDomainClassifier } from "../src/eval/classifier.js";
import { FeatureStats } from "../src/eval/feature-stats.js";
import { frechetDistance } from "../src/eval/frechet.js";

const { values } = parseArgs({ options: { count: { type: "string", default: "10000" }, fit: { type: "string", default: "pad" } } });
const count = Number(values.count), fit = values.fit as Fit;
const classifier = InDomainClassifier.load();

async function stats(split: "train" | "test"): Promise<FeatureStats> {
  const data = await loadFashionMnist({ split });
  const n = Math.min(count, data.count);
  const loader = new BatchLoader(subset(data, Array.from({ length: n }, (_, i) => i)), { batchSize: 100, seed: 0, shuffle: false, dropLast: false, size: 32, fit });
  let acc: FeatureStats | undefined;
  for (let done = 0; done < n;) {
    const batch = await loader.next();
    const { features } = await classifier.run(batch.images);
    acc ??= FeatureStats.empty(features.shape[1]!);
    await acc.add(features);
    done += batch.images.shape[0]!;
  }
  return acc!;
}

const [train, test] = [await stats("train"), await stats("test")];
const fd = await frechetDistance(await train.gaussian(), await test.gaussian());
console.log(JSON.stringify({ count, fit, fd_floor_train_test: fd.fid }));
await Promise.all([train.dispose(), test.dispose(), classifier.dispose()]);
