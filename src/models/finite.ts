// Cheap finiteness checks (one pass, no copies) for data entering a model: a NaN or infinite pixel
// or weight otherwise flows silently through the network and comes out as id 0 or a flat image.

import { FeedError } from "../engine/errors.js";
import type { HostTensor } from "../engine/host-tensor.js";
import { firstNonFiniteIndex } from "../engine/params.js";

/**
 * Pixels are in [0, 1] by convention; values this far outside are certainly not an image (a
 * unit mix-up or garbage) and overflow float32 inside the network into NaN, i.e. id 0.
 */
export const MAX_PIXEL_MAGNITUDE = 1e6;

/** Refuses images with NaN, infinite or absurdly large values (|v| > MAX_PIXEL_MAGNITUDE). */
export function checkFiniteImages(op: string, images: HostTensor): void {
  let i = firstNonFiniteIndex(images);
  if (i < 0 && images.dtype === "float32") {
    const d = images.data as Float32Array;
    for (let k = 0; k < d.length; k++) if (d[k]! > MAX_PIXEL_MAGNITUDE || d[k]! < -MAX_PIXEL_MAGNITUDE) { i = k; break; }
  }
  if (i >= 0) {
    const [, c = 1, h = 1, w = 1] = images.shape;
    const per = c * h * w;
    throw new FeedError({ op, expected: `finite pixel values (float32 in [0, 1]; at most ${MAX_PIXEL_MAGNITUDE} in magnitude)`, got: `${(images.data as Float32Array)[i]} in image ${Math.floor(i / per)} at flat index ${i % per}`, hint: "check how the images were produced; NaN pixels encode to meaningless ids" });
  }
}
