// `maskbit bits`: what one bit plane (latent channel) of the tokens encodes. Tokenizes the image,
// flips bit `--plane` of the ids (in a token region, default everywhere) and decodes; one grid row:
// the input, its reconstruction, then the flipped decode (with --all-planes one tile per plane).

import type { Command } from "../command.js";
import { intOption, parseCommand } from "../args.js";
import { IMAGE_TOKENIZER_OPTIONS } from "./tokenize.js";
import { loadOneImage, oneImage, openTokenizer, OUT_OPTIONS, outPath, scaleFlag, upscale, stackTiles, writeAtomic } from "./edit-common.js";
import { makeGrid } from "../../io/image.js";
import { flipBitPlane, type IdRegion } from "../../models/tokenizer/bit-planes.js";
import { ConfigError } from "../../engine/errors.js";
import { UsageError } from "../errors.js";

const OPTIONS = {
  ...IMAGE_TOKENIZER_OPTIONS,
  ...OUT_OPTIONS,
  plane: { type: "string" },
  "all-planes": { type: "boolean", default: false },
  region: { type: "string" },
} as const;

function parseRegion(text: string | undefined): IdRegion | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(",").map(Number);
  if (parts.length !== 4 || !parts.every(Number.isInteger)) {
    throw new UsageError({ op: "maskbit bits", scope: "--region", expected: "x,y,w,h in tokens (four integers)", got: JSON.stringify(text) });
  }
  const [x, y, width, height] = parts as [number, number, number, number];
  return { x, y, width, height };
}

export const bits: Command = {
  summary: "Decode an image with one bit plane of its tokens flipped (--all-planes: one tile per plane).",
  usage: "maskbit bits <image> (--plane k | --all-planes) [--region x,y,w,h] [--tokenizer <ckpt>] [--size px] [--out bits.png] [--scale k] [--force]",
  async run(argv) {
    const { values: v, positionals } = parseCommand("bits", argv, OPTIONS);
    const imagePath = oneImage("bits", positionals);
    if ((v.plane === undefined) === !v["all-planes"]) throw new UsageError({ op: "maskbit bits", expected: "exactly one of --plane k and --all-planes", got: v.plane === undefined ? "neither" : "both" });
    const region = parseRegion(v.region);
    const out = outPath("bits", v, "bits.png");
    const scale = scaleFlag("bits", v);
    const tok = await openTokenizer("bits", v);
    try {
      const tokenBits = tok.config.tokenSize;
      if (tok.config.quantizer.kind !== "lfq") throw new ConfigError({ op: "maskbit bits", expected: "an LFQ (bit-token) tokenizer", got: tok.config.quantizer.kind });
      const planes = v["all-planes"] ? Array.from({ length: tokenBits }, (_, k) => k) : [intOption("bits", "plane", v.plane, 0, { min: 0, max: tokenBits - 1, why: `a bit plane of the ${tokenBits}-bit tokens` })];
      const image = await loadOneImage(imagePath, tok, v.size);
      const { ids } = await tok.encode(image);
      const edited = planes.map((k) => flipBitPlane(ids, k, { region, tokenBits }));
      const tiles = [image, await tok.decode(ids, { clamp: true })];
      for (const e of edited) tiles.push(await tok.decode(e, { clamp: true }));
      await writeAtomic(out, await makeGrid(upscale(stackTiles(tiles), scale), { cols: Math.min(tiles.length, 12) }));
      const where = region ? `tokens x ${region.x}..${region.x + region.width - 1}, y ${region.y}..${region.y + region.height - 1}` : "every token";
      console.log(`wrote ${out}: input, reconstruction, then plane ${planes.join(", ")} flipped (${where}; plane 0 = least significant bit)`);
      return 0;
    } finally {
      await tok.dispose();
    }
  },
};
