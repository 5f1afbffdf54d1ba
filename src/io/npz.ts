// NumPy .npz archives (what np.savez writes: a STORED zip of <key>.npy members), and the sample
// batch layout the ADM (guided-diffusion) TensorFlow evaluator reads: key "arr_0" holding uint8
// NHWC [N, H, W, 3] images. Platform-free; src/node/atomic-file.ts writes the bytes in Node.

import { HostTensor } from "../engine/host-tensor.js";
import { FeedError, fmtShape } from "../engine/errors.js";
import { encodeNpy } from "./npy.js";
import { StoredZip } from "./zip-writer.js";

/** Arrays by key (np.load(path)[key]) as .npz chunks. */
export function encodeNpzParts(arrays: ReadonlyMap<string, HostTensor>): Uint8Array[] {
  const zip = new StoredZip("encodeNpz");
  for (const [key, t] of arrays) {
    if (!/^[A-Za-z0-9_]+$/.test(key)) throw new FeedError({ op: "encodeNpz", expected: "array keys of letters, digits and _", got: JSON.stringify(key) });
    zip.add(`${key}.npy`, encodeNpy(t));
  }
  return zip.finish();
}

/**
 * Images [N, C, H, W] float32 (C = 1 or 3; grayscale is repeated to RGB) as the ADM evaluator's
 * uint8 NHWC [N, H, W, 3]: clamped to [0, 1], times 255 in float32, truncated (as the official
 * MaskBit evaluation converts, spec: truncation, not rounding).
 */
export function imagesToAdmBatch(images: HostTensor): HostTensor {
  const [n, c, h, w] = images.shape as [number, number, number, number];
  if (images.dtype !== "float32" || images.shape.length !== 4 || (c !== 1 && c !== 3)) {
    throw new FeedError({ op: "imagesToAdmBatch", expected: "images float32[N, 1 or 3, H, W]", got: `${images.dtype}${fmtShape(images.shape)}` });
  }
  const src = images.data as Float32Array, out = new Uint8Array(n * h * w * 3), plane = h * w;
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < plane; p++) {
      for (let k = 0; k < 3; k++) {
        const v = src[(i * c + (c === 1 ? 0 : k)) * plane + p]!;
        const clamped = v > 1 ? 1 : v >= 0 ? v : 0; // NaN -> 0
        out[(i * plane + p) * 3 + k] = Math.trunc(Math.fround(clamped * 255));
      }
    }
  }
  return new HostTensor("uint8", [n, h, w, 3], out);
}

/** The ADM evaluator's sample batch file: {"arr_0": uint8 [N, H, W, 3]}. */
export const admSampleBatchParts = (batch: HostTensor): Uint8Array[] => encodeNpzParts(new Map([["arr_0", batch]]));
