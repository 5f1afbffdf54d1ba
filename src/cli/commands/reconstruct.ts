// `maskbit reconstruct`: images -> tokenizer -> reconstructions, written as a PNG grid
// (originals in the first row, reconstructions in the second).

import type { Command } from "../command.js";
import { parseCommand } from "../args.js";
import { IMAGE_TOKENIZER_OPTIONS, loadImagesForTokenizer, openImagesAndTokenizer } from "./tokenize.js";
import { writeGrid } from "../../io/image.js";
import { HostTensor } from "../../engine/host-tensor.js";

const OPTIONS = { ...IMAGE_TOKENIZER_OPTIONS, out: { type: "string", default: "reconstruction.png" } } as const;

export const reconstruct: Command = {
  summary: "Reconstruct images through a tokenizer (resize shorter side + center crop, as the official evaluation).",
  usage: "maskbit reconstruct <image...> [--tokenizer <ckpt>] [--config <yaml>] [--size <px>] [--out recon.png]",
  async run(argv) {
    const { values, positionals } = parseCommand("reconstruct", argv, OPTIONS);
    const tok = await openImagesAndTokenizer("reconstruct", positionals, values);
    try {
      const images = await loadImagesForTokenizer(positionals, tok, values.size);
      const recon = (await tok.reconstruct(images, { clamp: true })).images;
      const both = HostTensor.zeros("float32", [2 * images.shape[0]!, ...images.shape.slice(1)]);
      (both.data as Float32Array).set(images.data as Float32Array, 0);
      (both.data as Float32Array).set(recon.data as Float32Array, images.size);
      await writeGrid(values.out, both, { cols: images.shape[0]!, rowLabels: ["input", "reconstruction"] });
      console.log(`wrote ${values.out} (${images.shape[0]} images, ${images.shape[2]}x${images.shape[3]})`);
      return 0;
    } finally {
      await tok.dispose();
    }
  },
};
