// `maskbit eval-merge`: adds the sums saved by eval-tokenizer / eval-generator --save-shard and
// scores the whole evaluation, as if it had run in one process.

import type { Command } from "../command.js";
import { parseCommand, threadsOption } from "../args.js";
import { UsageError } from "../errors.js";
import { checkOutputFile } from "../outputs.js";
import { EvalSums, mergeEvalSums } from "../../eval/eval-sums.js";
import { scoreTokenizerEval } from "../../eval/run-tokenizer-eval.js";
import { scoreGeneratorEval } from "../../eval/run-generator-eval.js";
import { writeReport } from "./eval-common.js";

const OPTIONS = {
  json: { type: "string" },
  threads: { type: "string" },
  force: { type: "boolean", default: false },
} as const;

export const evalMerge: Command = {
  summary: "Merge the --save-shard files of a sharded eval-tokenizer / eval-generator run and score the whole.",
  usage: "maskbit eval-merge <shard.safetensors...> [--json out.json] [--force]",
  async run(argv) {
    const { values: v, positionals } = parseCommand("eval-merge", argv, OPTIONS);
    if (!positionals.length) throw new UsageError({ op: "maskbit eval-merge", expected: "one or more shard files (written by --save-shard)", got: "none" });
    const session = threadsOption("eval-merge", v.threads);
    if (v.json !== undefined) checkOutputFile(v.json, { command: "eval-merge", flag: "json", inputs: positionals, force: v.force });
    const merged = mergeEvalSums(positionals.map((p) => EvalSums.load(p)));
    try {
      const report = merged.kind === "tokenizer" ? await scoreTokenizerEval(merged, session) : await scoreGeneratorEval(merged, session);
      writeReport({ ...report, shard: null, shards: positionals.length }, v.json);
      return 0;
    } finally {
      await merged.dispose();
    }
  },
};
