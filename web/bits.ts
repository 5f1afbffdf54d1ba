// Bit-plane editing on token ids: flipping plane k of a token is id XOR 2^k (bit k of an LFQ id is
// latent channel k, least significant first). A small local module until the editing API's
// flipBitPlane (branch `editing`, src/models/tokenizer/bit-planes.ts) is on main; same arithmetic.

import { ConfigError } from "../src/browser.js";

/** ids (one image, row-major) with bit `plane` flipped at every token where `region` is set. */
export function flipPlane(ids: readonly number[], region: readonly boolean[], plane: number, tokenBits: number): number[] {
  if (!Number.isInteger(plane) || plane < 0 || plane >= tokenBits) {
    throw new ConfigError({ op: "flipPlane", expected: `a bit plane in [0, ${tokenBits})`, got: String(plane) });
  }
  if (region.length !== ids.length) throw new ConfigError({ op: "flipPlane", expected: `a region of ${ids.length} tokens`, got: `${region.length}` });
  if (!region.some(Boolean)) throw new ConfigError({ op: "flipPlane", expected: "at least one selected token", got: "none", hint: "click tokens on the image to select them" });
  // Ids have at most 20 bits (MAX_TOKEN_BITS), so 32-bit XOR is exact.
  return ids.map((id, i) => (region[i] ? id ^ (1 << plane) : id));
}
