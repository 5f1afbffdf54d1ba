// Training augmentation with torchvision semantics, drawn from an Rng so a seed (and a saved Rng
// state) reproduces every crop and flip: RandomResizedCrop, then RandomHorizontalFlip.

import type { Rng } from "../engine/rng.js";
import { ConfigError } from "../engine/errors.js";
import { flipHorizontal, roundHalfEven, type PixelArray, type PlanarImage } from "../io/planar.js";
import { resize, type Box, type ResampleFilter } from "../io/resample.js";

export interface RandomResizedCropOptions {
  /** Range of the crop's area as a fraction of the image's. */
  readonly scale: readonly [number, number];
  /** Range of the crop's width / height; drawn log-uniformly. */
  readonly ratio: readonly [number, number];
  readonly filter: ResampleFilter;
}

export interface AugmentOptions {
  /** null: no random crop (the image is only fitted to the output size). */
  readonly crop: RandomResizedCropOptions | null;
  /** Probability of a left-right flip; 0 disables it. */
  readonly flipProbability: number;
}

/** Stage I (spec 2.8): RandomResizedCrop scale (0.8, 1), ratio (3/4, 4/3), bilinear; h-flip. */
export const TOKENIZER_AUGMENT: AugmentOptions = {
  crop: { scale: [0.8, 1], ratio: [3 / 4, 4 / 3], filter: "bilinear" },
  flipProbability: 0.5,
};

/** Stage II (spec 3.4): RandomResizedCrop scale (0.8, 1), ratio fixed 1, bicubic; h-flip. */
export const GENERATOR_AUGMENT: AugmentOptions = {
  crop: { scale: [0.8, 1], ratio: [1, 1], filter: "bicubic" },
  flipProbability: 0.5,
};

export const NO_AUGMENT: AugmentOptions = { crop: null, flipProbability: 0 };

/** An integer crop window in source pixels. */
export type CropWindow = Box;

const uniformIn = (rng: Rng, lo: number, hi: number): number => lo + (hi - lo) * rng.uniform();

/**
 * torchvision's RandomResizedCrop.get_params: up to 10 tries of (area fraction, log-uniform
 * aspect ratio), accepted when the rounded window fits; otherwise the largest centred window whose
 * ratio is clamped into range.
 */
export function randomResizedCropWindow(height: number, width: number, options: RandomResizedCropOptions, rng: Rng): CropWindow {
  const { scale, ratio } = options;
  if (!(scale[0] > 0 && scale[0] <= scale[1] && ratio[0] > 0 && ratio[0] <= ratio[1])) {
    throw new ConfigError({ op: "randomResizedCropWindow", expected: "0 < scale[0] <= scale[1] and 0 < ratio[0] <= ratio[1]", got: `scale ${JSON.stringify(scale)}, ratio ${JSON.stringify(ratio)}` });
  }
  const area = height * width;
  const logLo = Math.log(ratio[0]), logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * uniformIn(rng, scale[0], scale[1]);
    const aspect = Math.exp(uniformIn(rng, logLo, logHi));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return { top, left, height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w = width, h = height;
  if (inRatio < ratio[0]) h = roundHalfEven(w / ratio[0]);
  else if (inRatio > ratio[1]) w = roundHalfEven(h * ratio[1]);
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/** Random crop (when configured) resized to [height, width], then the random flip. */
export function augmentImage<T extends PixelArray>(img: PlanarImage<T>, height: number, width: number, options: AugmentOptions, rng: Rng): PlanarImage<T> {
  let out = img;
  if (options.crop) {
    const window = randomResizedCropWindow(img.height, img.width, options.crop, rng);
    out = resize(img, height, width, options.crop.filter, window);
  } else if (img.height !== height || img.width !== width) {
    throw new ConfigError({ op: "augmentImage", expected: `a ${height}x${width} image when no crop is configured`, got: `${img.height}x${img.width}`, hint: "fit the image to the output size first" });
  }
  // torchvision draws the flip coin for every image, flipped or not; so do we (same Rng stream).
  if (options.flipProbability > 0 && rng.uniform() < options.flipProbability) out = flipHorizontal(out);
  return out;
}
