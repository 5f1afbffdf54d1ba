// `maskbit eval-generator`: N samples per class, scored by the in-domain classifier (FD-FMNIST
// against a reference split, class accuracy, IS) and, with --inception, gFID and Inception IS.

import type { Command } from "../command.js";
import { intOption, modelFile, numberOption, parseCommand, SHIPPED } from "../args.js";
import { ConfigError } from "../../engine/errors.js";
import { Generator } from "../../models/generator/generator.js";
import { Tokenizer } from "../../models/tokenizer/tokenizer.js";
import { runGeneratorEval, scoreGeneratorEval } from "../../eval/run-generator-eval.js";
import { EVAL_COMMON_HELP, EVAL_COMMON_OPTIONS, fashionMnist, inceptionOption, fileId, loadClassifier, splitOption, batchProgress, finishEval, commonEvalArgs } from "./eval-common.js";

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
} as const;

export const evalGenerator: Command = {
  summary: "Evaluate a class-conditional generator: FD-FMNIST, class accuracy, precision/recall, per-class FD and accuracy, in-domain IS; gFID and IS with --inception.",
  usage: [
    "maskbit eval-generator [--generator <file>] [--per-class N] [--seed s] [--reference train|test] [options]",
    "  --generator <file>     generator (default: the shipped Fashion-MNIST one)",
    "  --per-class <N>        samples per class (default 1000)",
    "  --seed <s>             base seed; batch k samples with a seed derived from (s, k) (default 0)",
    "  --reference train|test real images for the reference statistics (default train)",
    "  --reference-limit <N>  the first N reference images (default all)",
    "  --steps/--guidance/--scale-pow/--temperature   sampling overrides (default: the generator's config)",
    ...EVAL_COMMON_HELP,
  ].join("\n"),
  async run(argv) {
    const { values: v, positionals } = parseCommand(NAME, argv, OPTIONS);
    const { shard, fit } = commonEvalArgs(NAME, v, positionals);
    const referenceSplit = splitOption(NAME, "reference", v.reference, "train");
    const batchSize = intOption(NAME, "batch", v.batch, 64), perClass = intOption(NAME, "per-class", v["per-class"], 1000);
    const seed = intOption(NAME, "seed", v.seed, 0);
    const referenceLimit = v["reference-limit"] === undefined ? undefined : intOption(NAME, "reference-limit", v["reference-limit"], 0);
    if (batchSize < 1 || perClass < 1) throw new ConfigError({ op: `maskbit ${NAME}`, expected: "--batch and --per-class at least 1", got: `${batchSize}, ${perClass}` });
    const session = { threads: intOption(NAME, "threads", v.threads, 0) };
    const inception = inceptionOption(v.inception);
    const generatorPath = modelFile(NAME, "generator", v.generator, SHIPPED.generator);
    const tokenizerPath = modelFile(NAME, "tokenizer", v.tokenizer, SHIPPED.tokenizer);
    const { classifier, path: classifierPath } = loadClassifier(NAME, v.classifier, session);
    const generator = await Generator.load(generatorPath, { session });
    const tokenizer = await Tokenizer.load(tokenizerPath, { session });
    const d = generator.config.sampling;
    const sampling = {
      steps: intOption(NAME, "steps", v.steps, d.steps),
      guidanceScale: numberOption(NAME, "guidance", v.guidance, d.guidanceScale),
      scalePow: numberOption(NAME, "scale-pow", v["scale-pow"], d.scalePow),
      randomizeTemperature: numberOption(NAME, "temperature", v.temperature, d.randomizeTemperature),
    };
    try {
      const sums = await runGeneratorEval({
        generator, tokenizer, classifier, perClass, seed, batchSize, sampling, fit, shard, session,
        reference: await fashionMnist(referenceSplit, v.data),
        ...(inception ? { inception } : {}), ...(referenceLimit !== undefined ? { referenceLimit } : {}),
        settings: {
          generator: fileId(generatorPath), tokenizer: fileId(tokenizerPath), classifier: fileId(classifierPath), inception: v.inception === undefined ? null : fileId(v.inception),
          per_class: perClass, seed, batch: batchSize, reference: referenceSplit, fit, ...sampling,
          class_names: generator.classNames ?? null,
        },
        onBatch: batchProgress(`${NAME} ${v.shard ?? ""}`.trim(), v.quiet),
      });
      await finishEval(sums, shard, v["save-shard"], v.json, (s) => scoreGeneratorEval(s, session));
      return 0;
    } finally {
      await Promise.all([generator.dispose(), tokenizer.dispose(), classifier.dispose()]);
    }
  },
};
