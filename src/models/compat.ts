// Whether a generator and a tokenizer belong together, checked before any sampling: the generator
// predicts `tokenBits`-bit tokens on a `tokenGrid` x `tokenGrid` grid, which the tokenizer must
// decode (same code width) at the image size it was trained for (grid = image size / stride).
// A mismatch names both files and the field, instead of plausible pictures from the wrong pair.

import { ConfigError } from "../engine/errors.js";
import type { GeneratorConfig } from "./generator/config.js";
import { codebookSize, latentStride, type TokenizerConfig } from "./tokenizer/config.js";

export interface NamedGenerator {
  readonly config: GeneratorConfig;
  /** File (or other description) for the error message. */
  readonly name: string;
}

export interface NamedTokenizer {
  readonly config: TokenizerConfig;
  readonly name: string;
  /** Image side the tokenizer works at (trained at); undefined skips the grid check. */
  readonly imageSize?: number;
}

/** Bits per code of a tokenizer: LFQ token_size, or log2 of a VQ codebook (null when not a power of two). */
export function tokenizerCodeBits(c: TokenizerConfig): number | null {
  if (c.quantizer.kind === "lfq") return c.tokenSize;
  const bits = Math.log2(codebookSize(c));
  return Number.isInteger(bits) ? bits : null;
}

/** Throws a ConfigError naming both models and the first mismatching field. */
export function checkModelPair(g: NamedGenerator, t: NamedTokenizer): void {
  const pair = `generator ${g.name} with tokenizer ${t.name}`;
  const bits = tokenizerCodeBits(t.config);
  if (bits !== g.config.tokenBits) {
    throw new ConfigError({
      op: "checkModelPair", scope: pair,
      expected: `the tokenizer's codes to have the generator's tokenBits = ${g.config.tokenBits} (codebook ${2 ** g.config.tokenBits})`,
      got: `tokenizer token bits ${bits ?? "(codebook not a power of two)"} (codebook ${codebookSize(t.config)})`,
      hint: "use the tokenizer the generator was trained on",
    });
  }
  if (t.imageSize !== undefined) {
    const stride = latentStride(t.config);
    const grid = t.imageSize / stride;
    if (grid !== g.config.tokenGrid) {
      throw new ConfigError({
        op: "checkModelPair", scope: pair,
        expected: `the generator's tokenGrid ${g.config.tokenGrid} to equal the tokenizer's grid (image size ${t.imageSize} / stride ${stride} = ${grid})`,
        got: `tokenGrid ${g.config.tokenGrid} (it would decode ${g.config.tokenGrid * stride}x${g.config.tokenGrid * stride} images)`,
        hint: "use the tokenizer the generator was trained on",
      });
    }
  }
}

/**
 * The image side a tokenizer works at: its file's "image_size" metadata when present (written by
 * train-tokenizer), else the convention the CLI uses everywhere: 32 for grayscale (Fashion-MNIST),
 * 256 for RGB (ImageNet, as every released MaskBit tokenizer).
 */
export function tokenizerImageSize(c: TokenizerConfig, metadata: Readonly<Record<string, string>> = {}): number {
  const stored = metadata[IMAGE_SIZE_METADATA_KEY];
  if (stored !== undefined && /^\d+$/.test(stored) && Number(stored) > 0) return Number(stored);
  return c.numChannels === 1 ? 32 : 256;
}

/** Metadata key of the training image side in a tokenizer file. */
export const IMAGE_SIZE_METADATA_KEY = "image_size";
