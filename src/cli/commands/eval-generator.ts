// `maskbit eval-generator`: N samples per class, scored by the in-domain classifier (FD-FMNIST
// against a reference split, class accuracy, IS) and, with --inception, gFID and Inception IS.

import type { Command } from "../command.js";
import { DTYPE_HELP, dtypeOption, intOption, modelFile, numberOption, parseCommand, SHIPPED, threadsOption } from "../args.js";
import { loadModelPair } from "../model-pair.js";
import { runGeneratorEval, scoreGeneratorEval } from "../../eval/run-generator-eval.js";
import { HostTensor } from "../../engine/host-tensor.js";
import { admSampleBatchParts, imagesToAdmBatch } from "../../io/npz.js";
import { writeFileAtomic } from "../../node/atomic-file.js";
import { EVAL_COMMON_HELP, EVAL_COMMON_OPTIONS, fashionMnist, inceptionOption, fileId, loadClassifier, splitOption, batchProgress, finishEval, commonEvalArgs, checkEvalOutputs, checkClassifierFits } from "./eval-common.js";
import { MAX_BATCH_PER_CALL } from "../../models/argument-checks.js";

const NAME = "eval-generator";
const OPTIONS = {
  ...EVAL_COMMON_OPTIONS,
  generator: { type: "string" },
  "per-class": { type: "string" },
  seed: { type: "string" },
  reference: { type: "string" },
  "reference-limit": { type: "string" },
  steps: { type: "string" },
  guidance: { type: "string" },
  "scale-pow": { type: "string" },
  temperature: { type: "string" },
  "save-npz": { type: "string" },
  dtype: { type: "string" },
} as const;

export const evalGenerator: Command = {
  summary: "Evaluate a class-conditional generator: FD-FMNIST, class accuracy, precision/recall, per-class FD and accuracy, in-domain IS; gFID and IS with --inception.",
  usage: [
    "maskbit eval-generator [--generator <file>] [--per-class N] [--seed s] [--reference train|test] [options]",
    "  --generator <file>     generator (default: the shipped Fashion-MNIST one)",
    "  --per-class <N>        samples per class (default 1000)",
    "  --seed <s>             base seed; sample i draws from a stream seeded by (s, i), whatever the shards or batch (default 0)",
    "  --reference train|test real images for the reference statistics (default train)",
    "  --reference-limit <N>  the first N reference images (default all)",
    "  --steps/--guidance/--scale-pow/--temperature   sampling overrides (default: the generator's config)",
    "  --save-npz <file>      also write this run's (or shard's) samples as the ADM evaluator's .npz (arr_0: uint8 [N,H,W,3])",
    DTYPE_HELP,
    ...EVAL_COMMON_HELP,
  ].join("\n"),
  async run(argv) {
    const { values: v, positionals } = parseCommand(NAME, argv, OPTIONS);
    const { shard, fit } = commonEvalArgs(NAME, v, positionals);
    const referenceSplit = splitOption(NAME, "reference", v.reference, "train");
    const batchSize = intOption(NAME, "batch", v.batch, 64, { min: 1, max: MAX_BATCH_PER_CALL }), perClass = intOption(NAME, "per-class", v["per-class"], 1000, { min: 1 });
    const seed = intOption(NAME, "seed", v.seed, 0, { max: 2 ** 31 - 1 });
    const referenceLimit = v["reference-limit"] === undefined ? undefined : intOption(NAME, "reference-limit", v["reference-limit"], 0, { min: 1 });
    const session = threadsOption(NAME, v.threads);
    const dtype = dtypeOption(NAME, v.dtype);
    const generatorPath = modelFile(NAME, "generator", v.generator, SHIPPED.generator);
    const tokenizerPath = modelFile(NAME, "tokenizer", v.tokenizer, SHIPPED.tokenizer);
    checkEvalOutputs(NAME, v, [generatorPath, tokenizerPath, v.classifier, v.inception]);
    const inception = inceptionOption(v.inception);
    const { classifier, path: classifierPath } = loadClassifier(NAME, v.classifier, session, fit, v["classifier-fit"]);
    let pair;
    try {
      pair = await loadModelPair(generatorPath, tokenizerPath, { session, dtype });
      checkClassifierFits(NAME, classifier, classifierPath, pair.tokenizer.config.numChannels, tokenizerPath, { numClasses: pair.generator.config.numClasses, path: generatorPath });
    } catch (e) {
      await Promise.all([classifier.dispose(), pair?.dispose()]);
      throw e;
    }
    const { generator, tokenizer } = pair;
    const d = generator.config.sampling;
    const sampling = {
      steps: intOption(NAME, "steps", v.steps, d.steps, { min: 1, max: 10_000 }),
      guidanceScale: numberOption(NAME, "guidance", v.guidance, d.guidanceScale),
      scalePow: numberOption(NAME, "scale-pow", v["scale-pow"], d.scalePow),
      randomizeTemperature: numberOption(NAME, "temperature", v.temperature, d.randomizeTemperature),
    };
    const npzBatches: HostTensor[] = [];
    try {
      const sums = await runGeneratorEval({
        generator, tokenizer, classifier, perClass, seed, batchSize, sampling, fit, shard, session,
        reference: await fashionMnist(referenceSplit, v.data),
        ...(inception ? { inception } : {}), ...(referenceLimit !== undefined ? { referenceLimit } : {}),
        settings: {
          generator: fileId(generatorPath), tokenizer: fileId(tokenizerPath), classifier: fileId(classifierPath), inception: v.inception === undefined ? null : fileId(v.inception),
          per_class: perClass, seed, batch: batchSize, dtype, reference: referenceSplit, fit, classifier_fit: classifier.fit.trainFit, ...sampling,
          class_names: generator.classNames ?? null,
        },
        onBatch: batchProgress(`${NAME} ${v.shard ?? ""}`.trim(), v.quiet),
        ...(v["save-npz"] !== undefined ? { onSamples: (images: HostTensor) => { npzBatches.push(imagesToAdmBatch(images)); } } : {}),
      });
      if (v["save-npz"] !== undefined) writeAdmSamples(v["save-npz"], npzBatches);
      await finishEval(sums, shard, v["save-shard"], v.json, (s) => scoreGeneratorEval(s, session));
      return 0;
    } finally {
      await Promise.all([pair.dispose(), classifier.dispose()]);
    }
  },
};

/** The batches (uint8 [b, H, W, 3] each, in sample order) as one ADM sample file. */
function writeAdmSamples(path: string, batches: readonly HostTensor[]): void {
  const [, h, w] = batches[0]!.shape as number[];
  const n = batches.reduce((k, b) => k + b.shape[0]!, 0);
  const all = new Uint8Array(n * h! * w! * 3);
  let at = 0;
  for (const b of batches) { all.set(b.data as Uint8Array, at); at += b.data.length; }
  writeFileAtomic(path, admSampleBatchParts(new HostTensor("uint8", [n, h!, w!, 3], all)));
  console.error(`wrote ${path} (${n} samples, uint8 ${n}x${h}x${w}x3)`);
}
