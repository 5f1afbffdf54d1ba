// What `maskbit inpaint`, `outpaint` and `bits` share: options, opening the (shipped by default)
// models, reading the one input image, the class to regenerate with, and refusing to overwrite.

import { existsSync, renameSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { intOption, modelFile, numberOption, SHIPPED } from "../args.js";
import { IMAGE_TOKENIZER_OPTIONS, loadImageBatch } from "./tokenize.js";
import { Generator } from "../../models/generator/generator.js";
import type { SamplingDefaults } from "../../models/generator/config.js";
import { Tokenizer } from "../../models/tokenizer/tokenizer.js";
import { InDomainClassifier } from "../../eval/classifier.js";
import { HostTensor } from "../../engine/host-tensor.js";
import { ConfigError } from "../../engine/errors.js";
import { UsageError } from "../errors.js";
import { checkOutputFile } from "../outputs.js";
import { writeFileAtomic } from "../../node/atomic-file.js";

export const OUT_OPTIONS = { out: { type: "string" }, force: { type: "boolean", default: false }, scale: { type: "string" } } as const;

export const GENERATE_OPTIONS = {
  ...IMAGE_TOKENIZER_OPTIONS,
  ...OUT_OPTIONS,
  generator: { type: "string" },
  "generator-config": { type: "string" },
  classifier: { type: "string" },
  class: { type: "string" },
  n: { type: "string", short: "n" },
  steps: { type: "string" },
  guidance: { type: "string" },
  seed: { type: "string" },
  quiet: { type: "boolean", default: false },
} as const;

export const GENERATE_USAGE = "[--class <id|name>] [-n N] [--seed s] [--steps T] [--guidance s] [--generator <ckpt>] [--tokenizer <ckpt>] [--size px] [--out grid.png] [--scale k] [--force]";

/** The --out path (or the default), refused when it exists unless --force. */
export function outPath(command: string, v: { out?: string; force?: boolean }, fallback: string, inputs: readonly string[] = []): string {
  const out = v.out ?? fallback;
  checkOutputFile(out, { command, flag: "out", inputs, force: v.force ?? false });
  return out;
}

/** Writes bytes atomically (temp file, fsync, rename: the project's one atomic write). */
export async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  writeFileAtomic(path, bytes);
}

/** Exactly one positional image path. */
export function oneImage(command: string, positionals: readonly string[]): string {
  if (positionals.length !== 1) throw new UsageError({ op: `maskbit ${command}`, expected: "exactly one image file", got: `${positionals.length}` });
  return positionals[0]!;
}

export function openTokenizer(command: string, v: { tokenizer?: string; config?: string; threads?: string }): Promise<Tokenizer> {
  return Tokenizer.load(modelFile(command, "tokenizer", v.tokenizer, SHIPPED.tokenizer), { config: v.config, session: { threads: intOption(command, "threads", v.threads, 0) } });
}

export function openGenerator(command: string, v: { generator?: string; "generator-config"?: string; threads?: string }): Promise<Generator> {
  return Generator.load(modelFile(command, "generator", v.generator, SHIPPED.generator), { config: v["generator-config"], session: { threads: intOption(command, "threads", v.threads, 0) } });
}

/** The image as the tokenizer's input [1, C, s, s] (shorter side resized to --size, centre crop). */
export const loadOneImage = (path: string, tok: Tokenizer, size?: string): Promise<HostTensor> =>
  loadImageBatch([path], tok, intOption("edit", "size", size, tok.config.numChannels === 1 ? 32 : 256, { min: tok.stride, multipleOf: tok.stride, why: `the tokenizer's stride (${tok.stride})` }));

/**
 * The class to regenerate with: --class, or else the in-domain classifier's prediction on the input
 * image (the shipped Fashion-MNIST one by default) when its classes are the generator's.
 */
export async function editClass(command: string, gen: Generator, v: { class?: string; classifier?: string; threads?: string }, image: HostTensor): Promise<{ id: number; how: string }> {
  if (v.class !== undefined) return { id: gen.classId(v.class), how: "--class" };
  const file = modelFile(command, "classifier", v.classifier, SHIPPED.classifier);
  const classifier = InDomainClassifier.load(file, { session: { threads: intOption(command, "threads", v.threads, 0) } });
  try {
    if (classifier.config.numClasses !== gen.config.numClasses || classifier.config.inChannels !== image.shape[1]) {
      throw new ConfigError({ op: `maskbit ${command}`, expected: "--class <id or name> (the classifier's classes or channels differ from the models')", got: "no --class" });
    }
    return { id: (await classifier.run(image)).predictions.at(0), how: "predicted by the classifier" };
  } finally {
    await classifier.dispose();
  }
}

/** The sampling settings given on the command line (unset: the generator's defaults). */
export function samplingFlags(command: string, gen: Generator, v: { steps?: string; guidance?: string }): Partial<SamplingDefaults> {
  const d = gen.config.sampling;
  return { steps: intOption(command, "steps", v.steps, d.steps), guidanceScale: numberOption(command, "guidance", v.guidance, d.guidanceScale) };
}

export function countFlag(command: string, v: { n?: string }, fallback: number): number {
  const n = intOption(command, "n", v.n, fallback);
  if (n < 1 || n > 64) throw new UsageError({ op: `maskbit ${command}`, scope: "-n", expected: "between 1 and 64", got: String(n) });
  return n;
}

export const seedFlag = (command: string, v: { seed?: string }): number => intOption(command, "seed", v.seed, Math.floor(Math.random() * 2 ** 31));

/** Tiles [C, H, W] (each a batch entry or a single image) stacked into one [N, C, H, W] batch. */
export function stackTiles(tiles: readonly HostTensor[]): HostTensor {
  const shape = tiles[0]!.shape.slice(-3), per = shape[0]! * shape[1]! * shape[2]!;
  const total = tiles.reduce((n, t) => n + t.size / per, 0);
  const out = HostTensor.zeros("float32", [total, ...shape]);
  let at = 0;
  for (const t of tiles) {
    (out.data as Float32Array).set(t.data as Float32Array, at);
    at += t.size;
  }
  return out;
}

/** The --scale factor for grid tiles (nearest neighbour; 32-pixel tiles are small on screen). */
export function scaleFlag(command: string, v: { scale?: string }): number {
  const k = intOption(command, "scale", v.scale, 1);
  if (k < 1 || k > 16) throw new UsageError({ op: `maskbit ${command}`, scope: "--scale", expected: "an integer between 1 and 16", got: String(k) });
  return k;
}

/** A [N, C, H, W] batch with every pixel repeated k x k times (nearest-neighbour upscaling). */
export function upscale(batch: HostTensor, k: number): HostTensor {
  if (k === 1) return batch;
  const [n, c, h, w] = batch.shape as [number, number, number, number];
  const H = h * k, W = w * k, src = batch.data as Float32Array, out = new Float32Array(n * c * H * W);
  for (let p = 0; p < n * c; p++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[(p * H + y) * W + x] = src[(p * h + Math.floor(y / k)) * w + Math.floor(x / k)]!;
  return new HostTensor("float32", [n, c, H, W], out);
}

/** A token mask [1, h, w] as a [1, C, h*s, w*s] image: white where the tokens are regenerated. */
export function maskTile(mask: HostTensor, channels: number, stride: number): HostTensor {
  const [, h, w] = mask.shape as [number, number, number];
  const H = h * stride, W = w * stride, out = new Float32Array(channels * H * W), m = mask.data as Uint8Array;
  for (let c = 0; c < channels; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[(c * H + y) * W + x] = m[Math.floor(y / stride) * w + Math.floor(x / stride)] ? 1 : 0;
  return new HostTensor("float32", [1, channels, H, W], out);
}
