// Whatever a caller has as an image, as the [B, C, H, W] float tensor the tokenizer reads:
// tensors pass through, RGBA pixels (ImageData and alike) convert, encoded bytes decode (PNG
// everywhere; JPEG and other formats where the platform has a decoder: sharp in Node). And back:
// tensors to PNG bytes or RGBA.

import { HostTensor } from "../engine/host-tensor.js";
import { ConfigError } from "../engine/errors.js";
import { platform } from "./platform.js";
import { decodePng, encodePngRgba, isPng } from "./png.js";
import { isRgbaImage, rgbaToTensor, tensorToRgba, type RgbaImage } from "./rgba.js";

/** A float [B, C, H, W] / [C, H, W] tensor in [0, 1], RGBA pixels, or encoded image bytes (one or a list). */
export type ImageInput = HostTensor | RgbaImage | Uint8Array | readonly (RgbaImage | Uint8Array)[];

export async function decodeImageBytes(bytes: Uint8Array, name = "<image bytes>"): Promise<RgbaImage> {
  if (isPng(bytes)) return decodePng(bytes, name);
  const decode = platform().decodeImage;
  if (!decode) {
    throw new ConfigError({ op: "decodeImage", scope: name, expected: "PNG bytes (this platform decodes no other format)", got: `${bytes.length} bytes that are not a PNG`, hint: "convert the image to PNG, or pass RGBA pixels (ImageData)" });
  }
  try {
    return await decode(bytes);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError({ op: "decodeImage", scope: name, expected: "an image file (PNG, JPEG, WebP, ...)", got: (e as Error).message });
  }
}

/** Any ImageInput -> float32 [B, channels, H, W]. */
export async function imageInputToTensor(input: ImageInput, channels: 1 | 3): Promise<HostTensor> {
  if (input instanceof HostTensor) return input.shape.length === 3 ? input.reshape([1, ...input.shape]) : input;
  const list = Array.isArray(input) ? input : [input];
  if (list.length === 0) throw new ConfigError({ op: "imageInputToTensor", expected: "at least one image", got: "an empty list" });
  const rgba: RgbaImage[] = [];
  for (const [i, item] of list.entries()) {
    if (item instanceof Uint8Array) rgba.push(await decodeImageBytes(item, `image ${i}`));
    else if (isRgbaImage(item)) rgba.push(item);
    else throw new ConfigError({ op: "imageInputToTensor", expected: "a HostTensor, RGBA pixels ({data, width, height}) or encoded image bytes", got: typeof item });
  }
  return rgbaToTensor(rgba, channels);
}

/** PNG bytes of image `index` of a [B, C, H, W] / [C, H, W] float tensor (grey PNG for C = 1). */
export function toPng(images: HostTensor, index = 0): Uint8Array {
  const c = images.shape.length === 4 ? images.shape[1] : images.shape[0];
  return encodePngRgba(tensorToRgba(images, index), { channels: c === 1 ? 1 : 3 });
}

/** RGBA pixels (ImageData layout) of image `index`, e.g. for `new ImageData(data, width, height)`. */
export const toRgba = tensorToRgba;
