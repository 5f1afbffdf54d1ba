// Declaring a network's weights as fixed inputs rather than trainable parameters (see
// Graph.frozen): a frozen perceptual net, or the discriminator as seen from the generator's step.

import type { Graph } from "../graph/tensor.js";

/** Runs `build`; parameters it declares for the first time are not trainable. */
export function frozen<T>(g: Graph, build: () => T): T {
  return g.frozen(build);
}
