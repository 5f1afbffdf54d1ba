// `maskbit tokenize`: images -> bit-token ids, saved as JSON or as a NumPy .npy (int64).

import { writeFileSync } from "node:fs";
import type { Command } from "../command.js";
import { intOption, modelFile, parseCommand, SHIPPED } from "../args.js";
import { Tokenizer } from "../../models/tokenizer/tokenizer.js";
import { loadForEval } from "../../io/image.js";
import { encodeNpy } from "../../io/npy.js";
import { HostTensor } from "../../engine/host-tensor.js";
import { ConfigError } from "../../engine/errors.js";

/** The options reconstruct shares: the tokenizer (with its config for .bin files), size, threads. */
export const IMAGE_TOKENIZER_OPTIONS = {
  tokenizer: { type: "string" },
  config: { type: "string" },
  size: { type: "string" },
  threads: { type: "string" },
} as const;

/** Positional image paths and the tokenizer of --tokenizer (default: the shipped one). */
export async function openImagesAndTokenizer(command: string, positionals: readonly string[], v: { tokenizer?: string; config?: string; threads?: string }): Promise<Tokenizer> {
  if (!positionals.length) throw new ConfigError({ op: `maskbit ${command}`, expected: "one or more image files", got: "none" });
  return Tokenizer.load(modelFile(command, "tokenizer", v.tokenizer, SHIPPED.tokenizer), {
    config: v.config, session: { threads: intOption(command, "threads", v.threads, 0) },
  });
}

const OPTIONS = { ...IMAGE_TOKENIZER_OPTIONS, out: { type: "string", default: "tokens.json" } } as const;

/** Default input size: 256 for 3-channel (ImageNet) tokenizers, 32 for grayscale Fashion-MNIST ones. */
export async function loadImagesForTokenizer(paths: readonly string[], tok: Tokenizer, size?: string): Promise<HostTensor> {
  const channels = tok.config.numChannels;
  const s = intOption("tokenize", "size", size, channels === 1 ? 32 : 256);
  const images = await Promise.all(paths.map((p) => loadForEval(p, s, { channels: channels === 1 ? 1 : 3 })));
  const batch = HostTensor.zeros("float32", [images.length, channels, s, s]);
  images.forEach((img, i) => (batch.data as Float32Array).set(img.data, i * img.size));
  return batch;
}

export const tokenize: Command = {
  summary: "Encode images into bit-token ids (JSON, or .npy when --out ends in .npy).",
  usage: "maskbit tokenize <image...> [--tokenizer <ckpt>] [--config <yaml>] [--size <px>] [--out tokens.json|tokens.npy]",
  async run(argv) {
    const { values, positionals } = parseCommand("tokenize", argv, OPTIONS);
    const tok = await openImagesAndTokenizer("tokenize", positionals, values);
    try {
      const { ids } = await tok.encode(await loadImagesForTokenizer(positionals, tok, values.size));
      if (values.out.endsWith(".npy")) writeFileSync(values.out, encodeNpy(ids));
      else {
        const [b, h, w] = ids.shape as number[];
        const rows = Array.from({ length: b! }, (_, i) => ({
          image: positionals[i],
          grid: [h, w],
          ids: Array.from({ length: h! }, (_, y) => Array.from({ length: w! }, (_, x) => ids.at(i * h! * w! + y * w! + x))),
        }));
        writeFileSync(values.out, JSON.stringify({ tokenBits: tok.config.tokenSize, images: rows }, null, 1) + "\n");
      }
      console.log(`wrote ${values.out} (${ids.shape.join("x")} ids, ${tok.config.tokenSize} bits each)`);
      return 0;
    } finally {
      await tok.dispose();
    }
  },
};
