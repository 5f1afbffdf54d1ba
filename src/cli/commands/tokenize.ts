// `maskbit tokenize`: images -> bit-token ids, saved as JSON or as a NumPy .npy (int64).

import type { Command } from "../command.js";
import { intOption, modelFile, parseCommand, SHIPPED, threadsOption } from "../args.js";
import { checkOutputFile } from "../outputs.js";
import { UsageError } from "../errors.js";
import { Tokenizer } from "../../models/tokenizer/tokenizer.js";
import { loadForEval } from "../../io/image.js";
import { encodeNpy } from "../../io/npy.js";
import { HostTensor } from "../../engine/host-tensor.js";
import { writeFileAtomic } from "../../node/atomic-file.js";
import { MAX_BATCH_PER_CALL } from "../../models/argument-checks.js";

/** The options reconstruct shares: the tokenizer (with its config for .bin files), size, batch, threads, --force. */
export const IMAGE_TOKENIZER_OPTIONS = {
  tokenizer: { type: "string" },
  config: { type: "string" },
  size: { type: "string" },
  batch: { type: "string" },
  threads: { type: "string" },
  force: { type: "boolean", default: false },
} as const;

export const IMAGE_TOKENIZER_HELP = [
  "  --tokenizer <file>     tokenizer (default: the shipped Fashion-MNIST one); --config <yaml> for torch .bin files",
  "  --size <px>            model input side (default 32 for grayscale, 256 for RGB tokenizers); a multiple of the",
  "                         tokenizer's stride. Each image is resized (shorter side) and center-cropped to size x size.",
  "  --batch <B>            images decoded and encoded at once (default 64; fewer at large sizes, to bound memory)",
  "                         --size is bounded by a ~1 GB encoder budget (724 px for the shipped tokenizer);",
  "                         MASKBIT_MAX_SIZE=<px> raises the bound",
  "  --force                replace an existing output file (inputs and shipped models are never replaced)",
];

/**
 * Encoder memory budget: its activations take about 64 bytes per pixel per base channel
 * (measured: one 1024x1024 image through the shipped 32-channel tokenizer peaks at 1.1 GB), so a
 * batch holds at most BUDGET / (64 * hiddenChannels) pixels and one image at most that many.
 */
const ENCODER_BUDGET_BYTES = 2 ** 30;
const BYTES_PER_PIXEL_CHANNEL = 64;

function pixelBudget(tok: Tokenizer): number {
  return Math.floor(ENCODER_BUDGET_BYTES / (BYTES_PER_PIXEL_CHANNEL * tok.config.hiddenChannels));
}

/** Largest --size: one image within the budget, or MASKBIT_MAX_SIZE=<px> to raise it deliberately. */
export function maxImageSize(tok: Tokenizer): number {
  const env = process.env.MASKBIT_MAX_SIZE;
  if (env !== undefined && /^\d+$/.test(env) && Number(env) > 0) return Number(env);
  return Math.floor(Math.sqrt(pixelBudget(tok)) / tok.stride) * tok.stride;
}

export interface ImageTokenizerRun {
  readonly tokenizer: Tokenizer;
  readonly size: number;
  readonly batch: number;
}

/**
 * Checks the arguments and the output path, then opens the tokenizer of --tokenizer (default: the
 * shipped one). Nothing is decoded or encoded before every check has passed.
 */
export async function openImagesAndTokenizer(command: string, positionals: readonly string[], v: { tokenizer?: string; config?: string; threads?: string; size?: string; batch?: string; force?: boolean }, out: string): Promise<ImageTokenizerRun> {
  if (!positionals.length) throw new UsageError({ op: `maskbit ${command}`, expected: "one or more image files", got: "none" });
  const session = threadsOption(command, v.threads);
  const batch = intOption(command, "batch", v.batch, 64, { min: 1, max: MAX_BATCH_PER_CALL });
  const path = modelFile(command, "tokenizer", v.tokenizer, SHIPPED.tokenizer);
  checkOutputFile(out, { command, flag: "out", inputs: [...positionals, path, ...(v.config !== undefined ? [v.config] : [])], force: v.force ?? false });
  const tokenizer = await Tokenizer.load(path, { config: v.config, session });
  try {
    const stride = tokenizer.stride;
    const maxSize = maxImageSize(tokenizer);
    const size = intOption(command, "size", v.size, tokenizer.config.numChannels === 1 ? 32 : 256, {
      min: stride, max: maxSize, multipleOf: stride, why: `the tokenizer's stride: one token per ${stride}x${stride} pixels; at most ${maxSize} (MASKBIT_MAX_SIZE raises it)`,
    });
    // Activation memory grows with batch x size^2: at large sizes fewer images go through at once.
    const fits = Math.max(1, Math.floor(pixelBudget(tokenizer) / (size * size)));
    if (fits < batch && positionals.length > fits) console.error(`note: ${size}x${size} inputs go through ${fits} at a time (--batch ${batch} lowered to bound memory)`);
    return { tokenizer, size, batch: Math.min(batch, fits) };
  } catch (e) {
    await tokenizer.dispose();
    throw e;
  }
}

/** Images [from, to) of `paths` as one [B, C, size, size] batch. */
export async function loadImageBatch(paths: readonly string[], tok: Tokenizer, size: number): Promise<HostTensor> {
  const channels = tok.config.numChannels;
  const batch = HostTensor.zeros("float32", [paths.length, channels, size, size]);
  // One at a time: decoded images are full-size until resized, so decoding a batch in parallel multiplies the peak.
  for (let i = 0; i < paths.length; i++) {
    const img = await loadForEval(paths[i]!, size, { channels: channels === 1 ? 1 : 3 });
    (batch.data as Float32Array).set(img.data, i * img.size);
  }
  return batch;
}

const OPTIONS = { ...IMAGE_TOKENIZER_OPTIONS, out: { type: "string", default: "tokens.json" } } as const;

export const tokenize: Command = {
  summary: "Encode images into bit-token ids (JSON, or .npy when --out ends in .npy).",
  usage: ["maskbit tokenize <image...> [--out tokens.json|tokens.npy] [options]", ...IMAGE_TOKENIZER_HELP].join("\n"),
  async run(argv) {
    const { values, positionals } = parseCommand("tokenize", argv, OPTIONS);
    const { tokenizer: tok, size, batch } = await openImagesAndTokenizer("tokenize", positionals, values, values.out);
    try {
      const parts: HostTensor[] = [];
      for (let at = 0; at < positionals.length; at += batch) {
        parts.push((await tok.encode(await loadImageBatch(positionals.slice(at, at + batch), tok, size))).ids);
      }
      const [, h, w] = parts[0]!.shape as number[];
      const ids = HostTensor.zeros("int64", [positionals.length, h!, w!]);
      let offset = 0;
      for (const p of parts) {
        (ids.data as BigInt64Array).set(p.data as BigInt64Array, offset);
        offset += p.size;
      }
      if (values.out.endsWith(".npy")) writeFileAtomic(values.out, encodeNpy(ids));
      else {
        const rows = positionals.map((image, i) => ({
          image,
          grid: [h, w],
          ids: Array.from({ length: h! }, (_, y) => Array.from({ length: w! }, (_, x) => ids.at(i * h! * w! + y * w! + x))),
        }));
        writeFileAtomic(values.out, JSON.stringify({ tokenBits: tok.config.tokenSize, images: rows }, null, 1) + "\n");
      }
      console.log(`wrote ${values.out} (${ids.shape.join("x")} ids, ${tok.config.tokenSize} bits each)`);
      return 0;
    } finally {
      await tok.dispose();
    }
  },
};
