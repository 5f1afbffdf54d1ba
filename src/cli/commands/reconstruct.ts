// `maskbit reconstruct`: images -> tokenizer -> reconstructions, written as a PNG grid
// (originals in the first row, reconstructions in the second).
//
// The size rule: the tokenizer works on size x size inputs with size a multiple of its stride
// (one token per stride x stride pixels). Every image is resized (shorter side) and center-cropped
// to size x size, as the official evaluation does, and the grid shows both at that size; an image
// whose own size differs gets a note saying so, so a 31x31 input never silently comes back 32x32.

import sharp from "sharp";
import type { Command } from "../command.js";
import { parseCommand } from "../args.js";
import { IMAGE_TOKENIZER_HELP, IMAGE_TOKENIZER_OPTIONS, loadImageBatch, openImagesAndTokenizer } from "./tokenize.js";
import { makeGrid } from "../../io/image.js";
import { HostTensor } from "../../engine/host-tensor.js";
import { UsageError } from "../errors.js";
import { writeFileAtomic } from "../../node/atomic-file.js";

const OPTIONS = { ...IMAGE_TOKENIZER_OPTIONS, out: { type: "string", default: "reconstruction.png" } } as const;

/** Both rows of the grid are held as float32; past this many bytes the grid is refused. */
const MAX_GRID_BYTES = 256 * 2 ** 20;

export const reconstruct: Command = {
  summary: "Reconstruct images through a tokenizer (resize shorter side + center crop to --size, as the official evaluation).",
  usage: [
    "maskbit reconstruct <image...> [--out recon.png] [options]",
    ...IMAGE_TOKENIZER_HELP,
    "  the output grid shows inputs and reconstructions at size x size; inputs of another size are noted on stderr",
  ].join("\n"),
  async run(argv) {
    const { values, positionals } = parseCommand("reconstruct", argv, OPTIONS);
    const { tokenizer: tok, size, batch } = await openImagesAndTokenizer("reconstruct", positionals, values, values.out);
    try {
      const perImage = tok.config.numChannels * size * size;
      if (2 * positionals.length * perImage * 4 > MAX_GRID_BYTES) {
        throw new UsageError({ op: "maskbit reconstruct", expected: `at most ${Math.floor(MAX_GRID_BYTES / (8 * perImage))} images of ${size}x${size} in one grid`, got: `${positionals.length}`, hint: "split the images over several runs" });
      }
      for (const p of positionals) {
        const meta = await sharp(p).metadata().catch(() => undefined);
        if (meta?.width !== undefined && meta.height !== undefined && (meta.width !== size || meta.height !== size)) {
          console.error(`note: ${p} is ${meta.width}x${meta.height}; reconstructed at ${size}x${size} (shorter side resized to ${size}, then center-cropped; --size must be a multiple of ${tok.stride})`);
        }
      }
      const n = positionals.length;
      const both = HostTensor.zeros("float32", [2 * n, tok.config.numChannels, size, size]);
      const data = both.data as Float32Array;
      for (let at = 0; at < n; at += batch) {
        const images = await loadImageBatch(positionals.slice(at, at + batch), tok, size);
        const recon = (await tok.reconstruct(images, { clamp: true })).images;
        data.set(images.data as Float32Array, at * perImage);
        data.set(recon.data as Float32Array, (n + at) * perImage);
      }
      writeFileAtomic(values.out, await makeGrid(both, { cols: n, rowLabels: ["input", "reconstruction"] }));
      console.log(`wrote ${values.out} (${n} images, ${size}x${size})`);
      return 0;
    } finally {
      await tok.dispose();
    }
  },
};
