// `maskbit generate`: class-conditional samples from a generator, decoded by its tokenizer and
// written as a labelled PNG grid (one row per class with --all-classes).

import type { Command } from "../command.js";
import { intOption, modelFile, numberOption, parseCommand, SHIPPED } from "../args.js";
import { ProgressBar } from "../../node/progress.js";
import { Generator } from "../../models/generator/generator.js";
import { Tokenizer } from "../../models/tokenizer/tokenizer.js";
import { writeGrid } from "../../io/image.js";
import { ConfigError } from "../../engine/errors.js";

const OPTIONS = {
  generator: { type: "string" },
  tokenizer: { type: "string" },
  config: { type: "string" },
  class: { type: "string", multiple: true },
  "all-classes": { type: "boolean", default: false },
  n: { type: "string", short: "n" },
  steps: { type: "string" },
  guidance: { type: "string" },
  "scale-pow": { type: "string" },
  temperature: { type: "string" },
  seed: { type: "string" },
  out: { type: "string", default: "samples.png" },
  threads: { type: "string" },
  quiet: { type: "boolean", default: false },
} as const;

export const generate: Command = {
  summary: "Generate class-conditional images with MaskBit (defaults: the shipped Fashion-MNIST models).",
  usage: 'maskbit generate (--class <id|name>... | --all-classes) [-n <per class>] [--generator <ckpt>] [--tokenizer <ckpt>] [--steps T] [--guidance s] [--scale-pow p] [--temperature t] [--seed s] [--out samples.png]',
  async run(argv) {
    const { values: v } = parseCommand("generate", argv, OPTIONS);
    const session = { threads: intOption("generate", "threads", v.threads, 0) };
    const generator = await Generator.load(modelFile("generate", "generator", v.generator, SHIPPED.generator), { config: v.config, session });
    const tokenizer = await Tokenizer.load(modelFile("generate", "tokenizer", v.tokenizer, SHIPPED.tokenizer), { session });
    try {
      const classes = v["all-classes"]
        ? Array.from({ length: generator.config.numClasses }, (_, i) => i)
        : (v.class ?? []).map((c) => generator.classId(c));
      if (classes.length === 0) throw new ConfigError({ op: "maskbit generate", expected: "--class <id or name> (repeatable) or --all-classes", got: "neither" });
      const perClass = intOption("generate", "n", v.n, v["all-classes"] ? 8 : 16);
      if (perClass < 1) throw new ConfigError({ op: "maskbit generate", scope: "-n", expected: "at least 1", got: String(perClass) });
      const labels = classes.flatMap((c) => Array.from({ length: perClass }, () => c));
      const d = generator.config.sampling;
      const steps = intOption("generate", "steps", v.steps, d.steps);
      const bar = v.quiet ? undefined : new ProgressBar({ label: "generate", total: steps });
      const t0 = Date.now();
      const result = await generator.sample({
        labels, tokenizer, clamp: true, steps,
        guidanceScale: numberOption("generate", "guidance", v.guidance, d.guidanceScale),
        scalePow: numberOption("generate", "scale-pow", v["scale-pow"], d.scalePow),
        randomizeTemperature: numberOption("generate", "temperature", v.temperature, d.randomizeTemperature),
        ...(v.seed !== undefined ? { seed: intOption("generate", "seed", v.seed, 0) } : {}),
        onStep: (s) => bar?.update(s.step + 1, { masked: s.numMasked }),
      });
      const name = (c: number) => generator.classNames?.[c] ?? `class ${c}`;
      // One labelled row per class (rows of up to 8 when a single class has many samples).
      const cols = classes.length === 1 ? Math.min(perClass, 8) : perClass;
      const rows = Math.ceil(labels.length / cols);
      const rowLabels = Array.from({ length: rows }, (_, r) => name(labels[r * cols]!));
      await writeGrid(v.out, result.images!, { cols, rowLabels });
      console.log(`wrote ${v.out}: ${labels.length} samples (${classes.map(name).join(", ")}), ${steps} steps, seed ${result.seed}, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return 0;
    } finally {
      await Promise.all([generator.dispose(), tokenizer.dispose()]);
    }
  },
};
