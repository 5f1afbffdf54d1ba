// Shared helpers for the generator tests: golden-case paths (the cases' inputs and weights are used
// here; their expected outputs are judged only by the golden runners in src/golden) and a row view.
// A golden case's config maps to a GeneratorConfig through src/golden/generator-config.ts.

import { join } from "node:path";
import { HostTensor } from "../../../src/engine/host-tensor.js";

export const GOLDEN = process.env.MASKBIT_GOLDEN ?? join(import.meta.dirname, "../../../../shared/golden");
export const goldenDir = (name: string): string => join(GOLDEN, name);
export const OFFICIAL_CONFIGS = process.env.MASKBIT_OFFICIAL_CONFIGS ?? join(import.meta.dirname, "../../../../shared/reference/official-configs");

/** Entry i along the first axis (a view, no copy). */
export function at(t: HostTensor, i: number): HostTensor {
  const inner = t.shape.slice(1);
  const size = inner.reduce((a, b) => a * b, 1);
  return new HostTensor(t.dtype, inner, t.data.subarray(i * size, (i + 1) * size));
}
