// `maskbit inpaint`: regenerate the masked part of an image with the generator (class-conditional),
// written as one grid row: the input, the token mask (white = regenerated), then N completions.

import type { Command } from "../command.js";
import { intOption, parseCommand, required } from "../args.js";
import { ProgressBar } from "../../node/progress.js";
import {
  countFlag, editClass, GENERATE_OPTIONS, GENERATE_USAGE, loadOneImage, maskTile, oneImage, openGenerator, openTokenizer, outPath, scaleFlag, upscale, samplingFlags, seedFlag,
  stackTiles, writeAtomic,
} from "./edit-common.js";
import { decodeImage8, loadForEval, makeGrid } from "../../io/image.js";
import { groupMask, pixelMaskToTokenMask } from "../../models/generator/token-mask.js";
import { ConfigError } from "../../engine/errors.js";

const OPTIONS = {
  ...GENERATE_OPTIONS,
  mask: { type: "string" },
  widen: { type: "string" },
  groups: { type: "string" },
} as const;

export const inpaint: Command = {
  summary: "Regenerate the masked part of an image (white mask pixels), class-conditionally (defaults: the shipped Fashion-MNIST models).",
  usage: `maskbit inpaint <image> --mask <mask.png> [--widen 1] [--groups g,...] ${GENERATE_USAGE}`,
  async run(argv) {
    const { values: v, positionals } = parseCommand("inpaint", argv, OPTIONS);
    const imagePath = oneImage("inpaint", positionals);
    const maskPath = required("inpaint", "mask", v.mask);
    const out = outPath("inpaint", v, "inpaint.png");
    const scale = scaleFlag("inpaint", v);
    const n = countFlag("inpaint", v, 4);
    const widen = intOption("inpaint", "widen", v.widen, 1);
    // The mask must be drawn on the input itself: compare the files' own sizes, before resizing.
    const [img8, mask8] = await Promise.all([decodeImage8(imagePath), decodeImage8(maskPath, { channels: 1 })]);
    if (img8.width !== mask8.width || img8.height !== mask8.height) {
      throw new ConfigError({ op: "maskbit inpaint", scope: "--mask", expected: `a ${img8.width}x${img8.height} mask (the image's size)`, got: `${mask8.width}x${mask8.height}` });
    }
    const [tok, gen] = await Promise.all([openTokenizer("inpaint", v), openGenerator("inpaint", v)]);
    try {
      const image = await loadOneImage(imagePath, tok, v.size);
      const size = image.shape[2]!;
      // The mask goes through the same resize and crop as the image.
      const pixels = await loadForEval(maskPath, size, { channels: 1 });
      let mask = pixelMaskToTokenMask(pixels, { stride: tok.stride, widen, imageSize: [size, size] });
      const tokenMask = mask;
      if (v.groups !== undefined) mask = groupMask(mask, v.groups.split(",").map(Number), gen.config.groups);
      const { ids } = await tok.encode(image);
      const cls = await editClass("inpaint", gen, v, image);
      const seed = seedFlag("inpaint", v);
      const settings = samplingFlags("inpaint", gen, v);
      const bar = v.quiet ? undefined : new ProgressBar({ label: "inpaint", total: settings.steps! });
      const result = await gen.complete({
        ids, mask, labels: Array(n).fill(cls.id), seed, ...settings, tokenizer: tok, clamp: true,
        onStep: (s) => bar?.update(s.step + 1, { masked: s.numMasked }),
      });
      const grid = stackTiles([image, maskTile(tokenMask, image.shape[1]!, tok.stride), result.images!]);
      await writeAtomic(out, await makeGrid(upscale(grid, scale), { cols: n + 2 }));
      const name = gen.classNames?.[cls.id] ?? `class ${cls.id}`;
      const tokens = (tokenMask.data as Uint8Array).reduce((a, b) => a + b, 0);
      console.log(`wrote ${out}: input, mask (${tokens} of ${tokenMask.size} tokens${v.groups ? `, groups ${v.groups}` : ""}), ${n} completions as ${name} (${cls.how}), seed ${seed}`);
      return 0;
    } finally {
      await Promise.all([tok.dispose(), gen.dispose()]);
    }
  },
};
