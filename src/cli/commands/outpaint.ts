// `maskbit outpaint`: extend an image by whole tokens on any side, the new tokens generated window
// by window (Generator.outpaint); one grid row: the input on the larger canvas (new area grey), then
// N completions.

import type { Command } from "../command.js";
import { UsageError } from "../errors.js";
import { intOption, parseCommand } from "../args.js";
import {
  countFlag, editClass, GENERATE_OPTIONS, GENERATE_USAGE, loadOneImage, oneImage, openGenerator, openTokenizer, outPath, scaleFlag, upscale, samplingFlags, seedFlag, stackTiles,
  writeAtomic,
} from "./edit-common.js";
import { makeGrid } from "../../io/image.js";
import { HostTensor } from "../../engine/host-tensor.js";

const OPTIONS = {
  ...GENERATE_OPTIONS,
  left: { type: "string" },
  right: { type: "string" },
  top: { type: "string" },
  bottom: { type: "string" },
} as const;

/** The input [1, C, H, W] placed at (top, left) pixels of a grey [1, C, outH, outW] canvas. */
function onCanvas(image: HostTensor, outH: number, outW: number, top: number, left: number): HostTensor {
  const [, c, h, w] = image.shape as [number, number, number, number];
  const out = new Float32Array(c * outH * outW).fill(0.5), src = image.data as Float32Array;
  for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) out.set(src.subarray((ch * h + y) * w, (ch * h + y + 1) * w), (ch * outH + y + top) * outW + left);
  return new HostTensor("float32", [1, c, outH, outW], out);
}

export const outpaint: Command = {
  summary: "Extend an image by whole tokens on any side with generated content (defaults: the shipped Fashion-MNIST models).",
  usage: `maskbit outpaint <image> [--left t] [--right t] [--top t] [--bottom t] ${GENERATE_USAGE}`,
  async run(argv) {
    const { values: v, positionals } = parseCommand("outpaint", argv, OPTIONS);
    const imagePath = oneImage("outpaint", positionals);
    const out = outPath("outpaint", v, "outpaint.png");
    const scale = scaleFlag("outpaint", v);
    const n = countFlag("outpaint", v, 4);
    const pad = { left: intOption("outpaint", "left", v.left, 0), right: intOption("outpaint", "right", v.right, 0), top: intOption("outpaint", "top", v.top, 0), bottom: intOption("outpaint", "bottom", v.bottom, 0) };
    if (pad.left + pad.right + pad.top + pad.bottom === 0) {
      throw new UsageError({ op: "maskbit outpaint", expected: "at least one of --left/--right/--top/--bottom above 0 (tokens to add)", got: "none" });
    }
    const [tok, gen] = await Promise.all([openTokenizer("outpaint", v), openGenerator("outpaint", v)]);
    try {
      const image = await loadOneImage(imagePath, tok, v.size);
      const { ids } = await tok.encode(image);
      const cls = await editClass("outpaint", gen, v, image);
      const seed = seedFlag("outpaint", v);
      const result = await gen.outpaint({
        ids, pad, labels: Array(n).fill(cls.id), seed, ...samplingFlags("outpaint", gen, v),
        onWindow: (w) => { if (!v.quiet) console.error(`outpaint: window ${w.index + 1} at token (${w.x}, ${w.y}), ${w.unknownLeft} tokens left`); },
      });
      const images = await tok.decode(result.ids, { clamp: true });
      const s = tok.stride, [, , H, W] = images.shape as [number, number, number, number];
      const grid = stackTiles([onCanvas(image, H, W, pad.top * s, pad.left * s), images]);
      await writeAtomic(out, await makeGrid(upscale(grid, scale), { cols: n + 1 }));
      const name = gen.classNames?.[cls.id] ?? `class ${cls.id}`;
      console.log(`wrote ${out}: input on a ${W}x${H} canvas, ${n} outpaintings as ${name} (${cls.how}), ${result.windows} windows, seed ${seed}`);
      return 0;
    } finally {
      await Promise.all([tok.dispose(), gen.dispose()]);
    }
  },
};
