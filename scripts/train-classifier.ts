// Trains the in-domain Fashion-MNIST classifier (src/eval/classifier.ts) with the engine and writes
// models/fmnist-classifier/classifier.safetensors: label-smoothed cross-entropy, AdamW with a warmup
// + cosine schedule and an EMA of the weights (the EMA is what ships), horizontal flips as the only
// augmentation (Fashion-MNIST items are roughly mirror-symmetric; crops cost accuracy in short runs).
// Images are fitted 28 -> 32 by the loader's bilinear resize (--fit resize, the default: the shipped
// evaluator) or zero-padded (--fit pad, the tokenizer's fit); the file records it as "train_fit", and
// the evaluation maps padded images to a resize-trained classifier's fit (src/eval/classifier-fit.ts).
//
//   npm run train:classifier -- [--epochs 5] [--batch 128] [--lr 2e-3] [--seed 0] [--threads 2]
//                               [--arch plain|residual] [--fit resize|pad] [--width 32]
//   npm run train:classifier -- --eval-only     (test accuracy and FD floor of the shipped file)

import "../src/node/platform.js";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { Graph } from "../src/engine/graph/tensor.js";
import { ParamStore } from "../src/engine/params.js";
import { HostTensor } from "../src/engine/host-tensor.js";
import { TrainState, cosineWithMinimum, type AdamWConfig } from "../src/engine/optim/index.js";
import { loadFashionMnist } from "../src/data/fashion-mnist.js";
import { BatchLoader, type Fit } from "../src/data/loader.js";
import { subset } from "../src/data/dataset.js";
import { ProgressBar } from "../src/node/progress.js";
import { SMALL_CLASSIFIER_ARCHS, smallClassifier, smallClassifierFashionMnist, smallClassifierParamCount, type SmallClassifierArch, type SmallClassifierConfig } from "../src/models/perceptual/small-classifier.js";
import { perceptualInput, smallClassifierPerceptual } from "../src/models/perceptual/perceptual-loss.js";
import { classifierLoss } from "../src/models/perceptual/classifier-loss.js";
import {
  DEFAULT_CLASSIFIER_PATH, InDomainClassifier, classAccuracy, fashionMnistEvalImages, writeClassifierFile, type EvalImages,
} from "../src/eval/classifier.js";
import { FeatureStats } from "../src/eval/feature-stats.js";
import { SOURCE_SIZE_KEY, TRAIN_FIT_KEY } from "../src/eval/classifier-fit.js";
import { frechetDistance } from "../src/eval/frechet.js";

const { values: args } = parseArgs({
  options: {
    epochs: { type: "string", default: "5" },
    batch: { type: "string", default: "128" },
    lr: { type: "string", default: "2e-3" },
    "weight-decay": { type: "string", default: "0.05" },
    "label-smoothing": { type: "string", default: "0.1" },
    warmup: { type: "string", default: "200" },
    "ema-decay": { type: "string", default: "0.999" },
    width: { type: "string", default: String(smallClassifierFashionMnist.width) },
    seed: { type: "string", default: "0" },
    arch: { type: "string", default: "plain" },
    fit: { type: "string", default: "resize" },
    threads: { type: "string", default: "2" },
    data: { type: "string" },
    out: { type: "string", default: DEFAULT_CLASSIFIER_PATH },
    "eval-only": { type: "boolean", default: false },
    "floor-count": { type: "string", default: "10000" },
    /** Train on the first N training images only (smoke runs). */
    "train-count": { type: "string" },
  },
});
const num = (name: keyof typeof args): number => {
  const v = Number(args[name]);
  if (!Number.isFinite(v)) throw new Error(`train-classifier: --${name} expects a number, got ${String(args[name])}`);
  return v;
};
const threads = num("threads");
const session = { threads };

/** Test accuracy on all 10k test images and the FD-FMNIST floor (first N train vs first N test). */
async function evaluate(clf: InDomainClassifier, test: EvalImages, floorCount: number): Promise<{ testAccuracy: number; fdFloor: number }> {
  const t = await clf.run(test.images);
  const testAccuracy = classAccuracy(t.predictions, test.labels);
  const train = await fashionMnistEvalImages({ split: "train", count: floorCount, dir: args.data, fit });
  const statsOf = async (features: HostTensor) => {
    const s = FeatureStats.empty(clf.featureDim, session);
    await s.add(features);
    const gaussian = await s.gaussian();
    await s.dispose();
    return gaussian;
  };
  const trainStats = await statsOf((await clf.run(train.images)).features);
  const m = Math.min(floorCount, test.labels.size), d = clf.featureDim;
  const testStats = await statsOf(new HostTensor("float32", [m, d], t.features.data.subarray(0, m * d)));
  const fd = await frechetDistance(trainStats, testStats, { session });
  return { testAccuracy, fdFloor: fd.fid };
}

const fit = args.fit as Fit;
if (fit !== "resize" && fit !== "pad") throw new Error(`train-classifier: --fit expects resize or pad, got ${String(args.fit)}`);
const arch = args.arch as SmallClassifierArch;
if (!SMALL_CLASSIFIER_ARCHS.includes(arch)) throw new Error(`train-classifier: --arch expects ${SMALL_CLASSIFIER_ARCHS.join(" or ")}, got ${String(args.arch)}`);

async function main(): Promise<void> {
  const test = await fashionMnistEvalImages({ split: "test", dir: args.data, fit });
  const floorCount = num("floor-count");
  if (args["eval-only"]) {
    const clf = InDomainClassifier.load(args.out, { session });
    console.log(JSON.stringify({ file: args.out, ...(await evaluate(clf, test, floorCount)) }, null, 2));
    await clf.dispose();
    return;
  }

  const cfg: SmallClassifierConfig = { ...(arch === "plain" ? {} : { arch }), ...smallClassifierFashionMnist, width: num("width") };
  const seed = num("seed"), batchSize = num("batch"), epochs = num("epochs");
  const adamw: AdamWConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: num("weight-decay"), maxGradNorm: 1.0 };
  const g = new Graph();
  const x = g.input("x", "float32", [batchSize, cfg.inChannels, cfg.imageSize, cfg.imageSize]);
  const y = g.input("y", "int64", [batchSize]);
  const { logits } = smallClassifier(perceptualInput(x, smallClassifierPerceptual(cfg)), cfg);
  const { loss, accuracy } = classifierLoss(logits, y, num("label-smoothing"));
  const params = ParamStore.init(g.paramSpecs.values(), seed);
  const state = await TrainState.create(loss, params, { adamw, emaDecay: num("ema-decay"), outputs: { accuracy }, session });

  const fullTrain = await loadFashionMnist({ split: "train", dir: args.data });
  const train = args["train-count"] ? subset(fullTrain, Array.from({ length: num("train-count") }, (_, i) => i)) : fullTrain;
  const loader = new BatchLoader(train, { batchSize, seed, size: cfg.imageSize, fit, augment: { crop: null, flipProbability: 0.5 } });
  const total = epochs * loader.batchesPerEpoch;
  const schedule = { baseLr: num("lr"), warmup: num("warmup"), total, minimumRate: 0.01 };
  console.error(`small classifier ${arch} width ${cfg.width}: ${smallClassifierParamCount(cfg)} parameters; ${epochs} epochs x ${loader.batchesPerEpoch} steps of ${batchSize}, ${threads} threads`);

  const bar = new ProgressBar({ label: "train:classifier", total, everyMs: 30_000 });
  const t0 = performance.now();
  let lossAvg = 0, accAvg = 0;
  while (state.step < total) {
    const batch = await loader.next();
    const r = await state.run({ x: batch.images, y: batch.labels }, cosineWithMinimum(schedule, state.step));
    if (!Number.isFinite(r.loss)) throw new Error(`train-classifier: loss is ${r.loss} at step ${state.step}; lower --lr`);
    const a = 2 / (Math.min(state.step, 100) + 1); // running mean over ~100 steps, exact at the start
    lossAvg += a * (r.loss - lossAvg);
    accAvg += a * (r.outputs.accuracy!.at(0) - accAvg);
    bar.update(state.step, { loss: lossAvg.toFixed(4), acc: accAvg.toFixed(4), lr: cosineWithMinimum(schedule, state.step).toExponential(2) });
    if (state.step % loader.batchesPerEpoch === 0) {
      // A quick look at held-out accuracy per epoch (first 2,000 test images, EMA weights).
      const probe = new InDomainClassifier(cfg, new ParamStore(state.emaParams()!), {}, { session });
      const few = firstRows(test, 2000);
      const out = await probe.run(few.images);
      console.error(`epoch ${state.step / loader.batchesPerEpoch}: test[:2000] accuracy (EMA) ${classAccuracy(out.predictions, few.labels).toFixed(4)} after ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      await probe.dispose();
    }
  }
  const trainSeconds = (performance.now() - t0) / 1000;

  const ema = new ParamStore([...state.emaParams()!].map(([k, v]) => [k, v.clone()]));
  const raw = new InDomainClassifier(cfg, params, {}, { session });
  const rawAccuracy = classAccuracy((await raw.run(test.images)).predictions, test.labels);
  await raw.dispose();
  const clf = new InDomainClassifier(cfg, ema, {}, { session });
  const { testAccuracy, fdFloor } = await evaluate(clf, test, floorCount);
  await clf.dispose();
  await state.dispose();

  const facts = {
    test_accuracy: testAccuracy.toFixed(4), test_accuracy_raw_weights: rawAccuracy.toFixed(4),
    fd_floor_train_test: fdFloor.toFixed(4), fd_floor_count: floorCount,
    steps: total, epochs, batch_size: batchSize, seed, lr: schedule.baseLr, warmup: schedule.warmup,
    weight_decay: adamw.weightDecay, label_smoothing: num("label-smoothing"), ema_decay: num("ema-decay"),
    augment: "hflip p=0.5", fit: fit === "resize" ? "bilinear resize 28->32 (BatchLoader fit resize)" : "zero pad 28->32 (BatchLoader fit pad)",
    [TRAIN_FIT_KEY]: fit, [SOURCE_SIZE_KEY]: 28, arch,
    train_seconds: trainSeconds.toFixed(0), threads,
    command: `npm run train:classifier -- ${process.argv.slice(2).join(" ")}`.trim(),
  };
  mkdirSync(dirname(args.out), { recursive: true });
  writeClassifierFile(args.out, ema.values, cfg, facts);
  console.log(JSON.stringify({ file: args.out, config: cfg, ...facts }, null, 2));
}

/** The first n images and labels (views, no copy). */
function firstRows(e: EvalImages, n: number): EvalImages {
  const [count, ...rest] = e.images.shape as [number, ...number[]];
  const m = Math.min(n, count), per = e.images.size / count;
  return {
    images: new HostTensor("float32", [m, ...rest], e.images.data.subarray(0, m * per)),
    labels: new HostTensor("int64", [m], e.labels.data.subarray(0, m)),
  };
}

await main();
