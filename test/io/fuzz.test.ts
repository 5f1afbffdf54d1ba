// The reader fuzz properties (test/io/fuzz-properties.ts) with a fixed seed and a small budget, so
// npm test stays deterministic; `npm run fuzz` runs the same properties far longer.

import { test } from "node:test";
import fc from "fast-check";
import { imageProperties, syncProperties } from "./fuzz-properties.js";

const SEED = 20260412;

for (const [name, property] of Object.entries(syncProperties)) {
  test(`fuzz ${name}: success or a MaskbitError`, () => {
    fc.assert(property, { seed: SEED, numRuns: 150 });
  });
}

test("fuzz image decoders: success or a MaskbitError", async () => {
  for (const property of Object.values(await imageProperties())) {
    await fc.assert(property as fc.IAsyncProperty<unknown[]>, { seed: SEED, numRuns: 40 });
  }
});
