// `maskbit generate`: class-conditional samples from a generator, decoded by its tokenizer and
// written as a labelled PNG grid (one row per class with --all-classes), or one PNG per sample
// with --out-dir. Samples are drawn in batches of --batch, so memory is bounded by the batch, not -n.

import { join } from "node:path";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import type { Command } from "../command.js";
import { DTYPE_HELP, dtypeOption, intOption, modelFile, numberOption, parseCommand, SHIPPED, threadsOption } from "../args.js";
import { checkOutputDir, checkOutputFile } from "../outputs.js";
import { UsageError } from "../errors.js";
import { ProgressBar } from "../../node/progress.js";
import { loadModelPair } from "../model-pair.js";
import { encodePng, makeGrid } from "../../io/image.js";
import { HostTensor } from "../../engine/host-tensor.js";
import { writeFileAtomic } from "../../node/atomic-file.js";
import { MAX_BATCH_PER_CALL } from "../../models/argument-checks.js";

const OPTIONS = {
  generator: { type: "string" },
  tokenizer: { type: "string" },
  config: { type: "string" },
  class: { type: "string", multiple: true },
  "all-classes": { type: "boolean", default: false },
  n: { type: "string", short: "n" },
  batch: { type: "string" },
  steps: { type: "string" },
  guidance: { type: "string" },
  "scale-pow": { type: "string" },
  temperature: { type: "string" },
  seed: { type: "string" },
  out: { type: "string" },
  "out-dir": { type: "string" },
  force: { type: "boolean", default: false },
  threads: { type: "string" },
  dtype: { type: "string" },
  quiet: { type: "boolean", default: false },
} as const;

/** A single grid PNG holds every sample in memory (float32) at once; past this use --out-dir. */
const MAX_GRID_BYTES = 256 * 2 ** 20;

/** The seed of batch k of a run: each batch draws from its own seed, so -n N samples in any --batch are reproducible. */
const batchSeed = (seed: number, k: number): number => (seed * 1_000_003 + k) % 2 ** 31;

export const generate: Command = {
  summary: "Generate class-conditional images with MaskBit (defaults: the shipped Fashion-MNIST models).",
  usage: [
    "maskbit generate (--class <id|name>... | --all-classes) [-n <per class>] [options]",
    "  --generator/--tokenizer <file>  the models (default: the shipped Fashion-MNIST pair; checked to belong together)",
    "  -n <N>                 samples per class (default 16, or 8 with --all-classes)",
    "  --batch <B>            samples drawn at once (default 64); memory is bounded by B, not by -n",
    "  --steps T --guidance s --scale-pow p --temperature t   sampling overrides (default: the generator's config)",
    "  --seed <s>             base seed (integer >= 0); batch k uses a seed derived from (s, k)",
    "  --out <file.png>       one labelled grid (default samples.png)",
    "  --out-dir <dir>        instead, one PNG per sample (<class>-<index>.png), for large -n",
    "  --force                replace existing output files",
    DTYPE_HELP,
  ].join("\n"),
  async run(argv) {
    const { values: v, positionals } = parseCommand("generate", argv, OPTIONS);
    if (positionals.length) throw new UsageError({ op: "maskbit generate", expected: "no positional arguments", got: positionals.join(" ") });
    if (v.out !== undefined && v["out-dir"] !== undefined) throw new UsageError({ op: "maskbit generate", expected: "--out or --out-dir", got: "both" });
    const session = threadsOption("generate", v.threads);
    const dtype = dtypeOption("generate", v.dtype);
    const batch = intOption("generate", "batch", v.batch, 64, { min: 1, max: MAX_BATCH_PER_CALL });
    const seed = v.seed !== undefined ? intOption("generate", "seed", v.seed, 0, { max: 2 ** 31 - 1 }) : Math.floor(Math.random() * 2 ** 31);
    const generatorPath = modelFile("generate", "generator", v.generator, SHIPPED.generator);
    const tokenizerPath = modelFile("generate", "tokenizer", v.tokenizer, SHIPPED.tokenizer);
    const inputs = [generatorPath, tokenizerPath, ...(v.config !== undefined ? [v.config] : [])];
    const outDir = v["out-dir"];
    const out = v.out ?? "samples.png";
    // Checked before loading anything: a wrong output must not cost the samples.
    if (outDir !== undefined) {
      checkOutputDir(outDir, { command: "generate", flag: "out-dir", inputs });
      const old = existsSync(outDir) ? readdirSync(outDir).filter((f) => f.endsWith(".png")) : [];
      if (old.length && !v.force) throw new UsageError({ op: "maskbit generate", scope: `--out-dir ${outDir}`, expected: "a directory without PNG files", got: `${old.length} (e.g. ${old[0]})`, hint: "pass --force to replace them, or choose an empty directory" });
    }
    else checkOutputFile(out, { command: "generate", flag: "out", inputs, force: v.force });

    const { generator, tokenizer, dispose } = await loadModelPair(generatorPath, tokenizerPath, { ...(v.config !== undefined ? { config: v.config } : {}), session, dtype });
    try {
      const classes = v["all-classes"]
        ? Array.from({ length: generator.config.numClasses }, (_, i) => i)
        : (v.class ?? []).map((c) => generator.classId(c));
      if (classes.length === 0) throw new UsageError({ op: "maskbit generate", expected: "--class <id or name> (repeatable) or --all-classes", got: "neither" });
      const perClass = intOption("generate", "n", v.n, v["all-classes"] ? 8 : 16, { min: 1, max: 1_000_000 });
      const labels = classes.flatMap((c) => Array.from({ length: perClass }, () => c));
      const d = generator.config.sampling;
      const steps = intOption("generate", "steps", v.steps, d.steps, { min: 1, max: 10_000 });
      const sampling = {
        steps,
        guidanceScale: numberOption("generate", "guidance", v.guidance, d.guidanceScale),
        scalePow: numberOption("generate", "scale-pow", v["scale-pow"], d.scalePow),
        randomizeTemperature: numberOption("generate", "temperature", v.temperature, d.randomizeTemperature),
      };
      const side = generator.config.tokenGrid * tokenizer.stride, channels = tokenizer.config.numChannels;
      const perImage = channels * side * side;
      if (outDir === undefined && labels.length * perImage * 4 > MAX_GRID_BYTES) {
        throw new UsageError({ op: "maskbit generate", scope: "--out", expected: `at most ${Math.floor(MAX_GRID_BYTES / (perImage * 4))} samples of ${side}x${side} in one grid PNG`, got: `${labels.length}`, hint: "use --out-dir <dir> for one PNG per sample" });
      }
      const name = (c: number) => generator.classNames?.[c] ?? `class ${c}`;
      const batches = Math.ceil(labels.length / batch);
      const bar = v.quiet ? undefined : new ProgressBar({ label: "generate", total: steps * batches });
      const grid = outDir === undefined ? HostTensor.zeros("float32", [labels.length, channels, side, side]) : undefined;
      if (outDir !== undefined) mkdirSync(outDir, { recursive: true });
      const t0 = Date.now();
      for (let k = 0; k < batches; k++) {
        const want = labels.slice(k * batch, (k + 1) * batch);
        const result = await generator.sample({
          ...sampling, labels: want, tokenizer, clamp: true, seed: batchSeed(seed, k),
          onStep: (s) => bar?.update(k * steps + s.step + 1, { batch: `${k + 1}/${batches}` }),
        });
        const images = result.images!;
        if (grid) (grid.data as Float32Array).set(images.data as Float32Array, k * batch * perImage);
        else {
          for (let i = 0; i < want.length; i++) {
            const index = k * batch + i;
            const one = new HostTensor("float32", [channels, side, side], (images.data as Float32Array).subarray(i * perImage, (i + 1) * perImage));
            const file = join(outDir!, `${String(name(want[i]!)).replace(/[^A-Za-z0-9_-]+/g, "_")}-${String(index).padStart(6, "0")}.png`);
            writeFileAtomic(file, await encodePng(one));
          }
        }
      }
      if (grid) {
        // One labelled row per class (rows of up to 8 when a single class has many samples).
        const cols = classes.length === 1 ? Math.min(perClass, 8) : perClass;
        const rows = Math.ceil(labels.length / cols);
        const rowLabels = Array.from({ length: rows }, (_, r) => name(labels[r * cols]!));
        writeFileAtomic(out, await makeGrid(grid, { cols, rowLabels }));
      }
      console.log(`wrote ${outDir ?? out}: ${labels.length} samples (${classes.map(name).join(", ")}) in ${batches} batch(es) of up to ${batch}, ${steps} steps, seed ${seed}, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return 0;
    } finally {
      await dispose();
    }
  },
};
