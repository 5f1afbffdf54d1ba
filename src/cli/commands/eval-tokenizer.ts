// `maskbit eval-tokenizer`: reconstruction metrics of a tokenizer over a Fashion-MNIST split
// (rFD-FMNIST, rFID with --inception, PSNR, SSIM, codebook usage and entropy), as JSON.

import type { Command } from "../command.js";
import { intOption, modelFile, parseCommand, SHIPPED, threadsOption } from "../args.js";
import { Tokenizer } from "../../models/tokenizer/tokenizer.js";
import { maxImageSize } from "./tokenize.js";
import { runTokenizerEval, scoreTokenizerEval } from "../../eval/run-tokenizer-eval.js";
import { EVAL_COMMON_HELP, EVAL_COMMON_OPTIONS, fashionMnist, inceptionOption, fileId, loadClassifier, splitOption, batchProgress, finishEval, commonEvalArgs, checkEvalOutputs, checkClassifierFits } from "./eval-common.js";
import { MAX_BATCH_PER_CALL } from "../../models/argument-checks.js";

const NAME = "eval-tokenizer";
const OPTIONS = {
  ...EVAL_COMMON_OPTIONS,
  split: { type: "string" },
  limit: { type: "string" },
  size: { type: "string" },
} as const;

export const evalTokenizer: Command = {
  summary: "Evaluate a tokenizer's reconstructions: rFD-FMNIST, rFID (--inception), PSNR, SSIM, codebook usage and entropy.",
  usage: [
    "maskbit eval-tokenizer [--split test] [--limit N] [--size 32] [options]",
    "  --split train|test     images to reconstruct (default test)",
    "  --limit <N>            the first N images of the split (default all)",
    "  --size <px>            model input size (default 32)",
    ...EVAL_COMMON_HELP,
  ].join("\n"),
  async run(argv) {
    const { values: v, positionals } = parseCommand(NAME, argv, OPTIONS);
    const { shard, fit } = commonEvalArgs(NAME, v, positionals);
    const split = splitOption(NAME, "split", v.split, "test");
    const batchSize = intOption(NAME, "batch", v.batch, 64, { min: 1, max: MAX_BATCH_PER_CALL });
    const limit = v.limit === undefined ? undefined : intOption(NAME, "limit", v.limit, 0, { min: 1 });
    const session = threadsOption(NAME, v.threads);
    const tokenizerPath = modelFile(NAME, "tokenizer", v.tokenizer, SHIPPED.tokenizer);
    checkEvalOutputs(NAME, v, [tokenizerPath, v.classifier, v.inception]);
    const inception = inceptionOption(v.inception);
    const { classifier, path: classifierPath } = loadClassifier(NAME, v.classifier, session, fit, v["classifier-fit"]);
    let tokenizer;
    let size: number;
    try {
      tokenizer = await Tokenizer.load(tokenizerPath, { session });
      size = intOption(NAME, "size", v.size, 32, { min: tokenizer.stride, max: maxImageSize(tokenizer), multipleOf: tokenizer.stride, why: "the tokenizer's stride; the maximum bounds encoder memory (MASKBIT_MAX_SIZE raises it)" });
      checkClassifierFits(NAME, classifier, classifierPath, tokenizer.config.numChannels, tokenizerPath);
    } catch (e) {
      await Promise.all([classifier.dispose(), tokenizer?.dispose()]);
      throw e;
    }
    try {
      const sums = await runTokenizerEval({
        tokenizer, classifier, data: await fashionMnist(split, v.data), size, fit, batchSize, shard, session,
        ...(inception ? { inception } : {}), ...(limit !== undefined ? { limit } : {}),
        settings: { tokenizer: fileId(tokenizerPath), classifier: fileId(classifierPath), inception: v.inception === undefined ? null : fileId(v.inception), split, limit: limit ?? null, size, fit, classifier_fit: classifier.fit.trainFit },
        onBatch: batchProgress(`${NAME} ${v.shard ?? ""}`.trim(), v.quiet),
      });
      await finishEval(sums, shard, v["save-shard"], v.json, (s) => scoreTokenizerEval(s, session));
      return 0;
    } finally {
      await Promise.all([tokenizer.dispose(), classifier.dispose()]);
    }
  },
};
