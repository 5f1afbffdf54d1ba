// `maskbit sweep`: sampling settings (steps x guidance x scale_pow x temperature) scored by
// FD-FMNIST, class accuracy, precision and recall at a fixed sample count; writes JSON, Markdown
// and a PNG, and with --write-defaults a copy of the generator with the best setting stored.

import type { Command } from "../command.js";
import { intOption, modelFile, numberOption, parseCommand, SHIPPED } from "../args.js";
import { ConfigError } from "../../engine/errors.js";
import { UsageError } from "../errors.js";
import { Generator } from "../../models/generator/generator.js";
import { Tokenizer } from "../../models/tokenizer/tokenizer.js";
import { rmSync } from "node:fs";
import { DEFAULT_WEIGHTS, gridSettings, runSamplingSweep, sweepMarkdown, type SweepRow } from "../../eval/sampling-sweep.js";
import { fashionMnist, fitOption, loadClassifier, splitOption } from "./eval-common.js";
import { checkDefaultsTarget, plotSweep, settingLabel, writeAtomic, writeGeneratorWithDefaults } from "../sweep-output.js";

const NAME = "sweep";
const OPTIONS = {
  generator: { type: "string" },
  tokenizer: { type: "string" },
  classifier: { type: "string" },
  data: { type: "string" },
  fit: { type: "string", default: "pad" },
  "classifier-fit": { type: "string" },
  reference: { type: "string" },
  "reference-limit": { type: "string" },
  "per-class": { type: "string" },
  seed: { type: "string" },
  batch: { type: "string" },
  steps: { type: "string" },
  guidance: { type: "string" },
  "scale-pow": { type: "string" },
  temperature: { type: "string" },
  "w-accuracy": { type: "string" },
  "w-precision": { type: "string" },
  "w-recall": { type: "string" },
  k: { type: "string" },
  out: { type: "string", default: "sweep" },
  "write-defaults": { type: "string" },
  force: { type: "boolean", default: false },
  "without-default": { type: "boolean", default: false },
  threads: { type: "string" },
  quiet: { type: "boolean", default: false },
} as const;

/** "1,2.5,4" -> [1, 2.5, 4]; absent -> [fallback]. */
function listOption(flag: string, value: string | undefined, fallback: number, integer = false): number[] {
  if (value === undefined) return [fallback];
  const xs = value.split(",").map((t) => Number(t.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x) || (integer && !Number.isInteger(x)))) {
    throw new UsageError({ op: `maskbit ${NAME}`, scope: `--${flag}`, expected: `a comma-separated list of ${integer ? "integers" : "numbers"}`, got: JSON.stringify(value) });
  }
  return xs;
}

export const sweep: Command = {
  summary: "Sweep sampling settings (steps, guidance, scale_pow, temperature) scored by FD-FMNIST, class accuracy, precision/recall.",
  usage: [
    "maskbit sweep [--steps 8,16] [--guidance 1,2,3] [--scale-pow 0,2.5] [--temperature 1,2,4] [--per-class N] [--out prefix] [--write-defaults <file>]",
    "  every combination of the lists is drawn with the same labels and seeds; the generator's stored defaults are always included",
    "  --per-class <N>         samples per class and setting (default 50)",
    "  --seed <s>              base seed (default 0)",
    "  --reference train|test  real images (default test); --reference-limit <N> the first N (default all)",
    "  --w-accuracy/--w-precision/--w-recall  score = fd + w_a (1 - acc) + w_p (1 - precision) + w_r (1 - recall) (default 1, 0, 1)",
    "  --k <k>                 neighbours for precision / recall (default 3)",
    "  --out <prefix>          writes <prefix>.json, <prefix>.md, <prefix>.png (default sweep)",
    "  --write-defaults <file> a copy of the generator with the best setting as its sampling defaults",
    "  --without-default       do not add the stored defaults to the grid",
    "  --force                 allow --write-defaults to replace an existing file (never the input generator)",
    "  --generator/--tokenizer/--classifier/--data/--fit/--classifier-fit/--batch/--threads/--quiet as in eval-generator",
  ].join("\n"),
  async run(argv) {
    const { values: v, positionals } = parseCommand(NAME, argv, OPTIONS);
    if (positionals.length) throw new UsageError({ op: `maskbit ${NAME}`, expected: "no positional arguments", got: positionals.join(" ") });
    const session = { threads: intOption(NAME, "threads", v.threads, 0) };
    const generatorPath = modelFile(NAME, "generator", v.generator, SHIPPED.generator);
    const tokenizerPath = modelFile(NAME, "tokenizer", v.tokenizer, SHIPPED.tokenizer);
    const batchSize = intOption(NAME, "batch", v.batch, 64), perClass = intOption(NAME, "per-class", v["per-class"], 50);
    if (batchSize < 1) throw new UsageError({ op: `maskbit ${NAME}`, scope: "--batch", expected: "at least 1", got: String(batchSize) });
    const weights = {
      accuracy: numberOption(NAME, "w-accuracy", v["w-accuracy"], DEFAULT_WEIGHTS.accuracy),
      precision: numberOption(NAME, "w-precision", v["w-precision"], DEFAULT_WEIGHTS.precision),
      recall: numberOption(NAME, "w-recall", v["w-recall"], DEFAULT_WEIGHTS.recall),
    };
    // Checked before the sweep, which may run for an hour.
    if (v["write-defaults"] !== undefined) checkDefaultsTarget(generatorPath, v["write-defaults"], v.force);
    const fit = fitOption(NAME, v.fit);
    const { classifier } = loadClassifier(NAME, v.classifier, session, fit, v["classifier-fit"]);
    const generator = await Generator.load(generatorPath, { session });
    const tokenizer = await Tokenizer.load(tokenizerPath, { session });
    try {
      const d = generator.config.sampling;
      const settings = gridSettings({
        steps: listOption("steps", v.steps, d.steps, true),
        guidanceScale: listOption("guidance", v.guidance, d.guidanceScale),
        scalePow: listOption("scale-pow", v["scale-pow"], d.scalePow),
        randomizeTemperature: listOption("temperature", v.temperature, d.randomizeTemperature),
      });
      const partial: SweepRow[] = [];
      const referenceLimit = v["reference-limit"] === undefined ? undefined : intOption(NAME, "reference-limit", v["reference-limit"], 0);
      const result = await runSamplingSweep({
        generator, tokenizer, classifier, perClass, batchSize, weights, session, settings, withoutDefault: v["without-default"],
        seed: intOption(NAME, "seed", v.seed, 0),
        k: intOption(NAME, "k", v.k, 3),
        fit,
        reference: await fashionMnist(splitOption(NAME, "reference", v.reference, "test"), v.data),
        ...(referenceLimit !== undefined ? { referenceLimit } : {}),
        onRow: (row, i, n) => {
          // Rows so far, so an interrupted sweep keeps what it measured.
          partial.push(row);
          writeAtomic(`${v.out}.partial.json`, JSON.stringify(partial, null, 2) + "\n");
          if (!v.quiet) console.error(`[${i + 1}/${n}] ${settingLabel(row.setting)}: fd ${row.fd_fmnist.toFixed(3)} acc ${(100 * row.class_accuracy).toFixed(1)}% P ${row.precision.toFixed(3)} R ${row.recall.toFixed(3)} score ${row.score.toFixed(3)} (${row.seconds.toFixed(0)} s)`);
        },
      });
      rmSync(`${v.out}.partial.json`, { force: true });
      const best = result.rows[result.best]!.setting;
      const report = { generator: generatorPath, tokenizer: tokenizerPath, ...result, best_setting: best };
      writeAtomic(`${v.out}.json`, JSON.stringify(report, null, 2) + "\n");
      writeAtomic(`${v.out}.md`, sweepMarkdown(result));
      plotSweep(`${v.out}.png`, result);
      console.error(`best: ${settingLabel(best)} (score ${result.rows[result.best]!.score.toFixed(3)}); wrote ${v.out}.json, .md, .png`);
      if (v["write-defaults"] !== undefined) {
        await writeGeneratorWithDefaults(generatorPath, v["write-defaults"], best, v.force);
        console.error(`wrote ${v["write-defaults"]} with sampling defaults ${settingLabel(best)}`);
      }
      return 0;
    } finally {
      await Promise.all([generator.dispose(), tokenizer.dispose(), classifier.dispose()]);
    }
  },
};
