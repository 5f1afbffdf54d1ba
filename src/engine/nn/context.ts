// What a model's forward needs besides its inputs: whether it is training (dropout on), and the
// fed int64 seed from which every random site of the graph draws its own stream.

import type { Tensor } from "../graph/tensor.js";

export class ForwardContext {
  private salt = 0;

  constructor(
    readonly training: boolean,
    /** int64 scalar graph input; required when training with dropout. */
    readonly seed: Tensor | null = null,
  ) {}

  static inference(): ForwardContext {
    return new ForwardContext(false);
  }

  /** A distinct constant for each random site, in the order sites are built. */
  nextSalt(): number {
    return ++this.salt;
  }
}
