// Asserting model outputs against a golden case with the case's own tolerance (io/golden.ts).

import assert from "node:assert/strict";
import { compareTensors, toleranceFor, type GoldenCase } from "../../src/io/golden.js";
import type { HostTensor } from "../../src/engine/host-tensor.js";

/** Compares `got` with the case tensor `name`; scalars of shape [] match the fixtures' [1]. */
export function expectGolden(c: GoldenCase, name: string, got: HostTensor): void {
  const expected = c.tensors.get(name);
  assert.ok(expected, `golden ${c.name} has no tensor ${name}`);
  const value = got.size === expected.size && got.shape.length !== expected.shape.length ? got.reshape(expected.shape) : got;
  const tol = toleranceFor(c.tolerance, name);
  const r = compareTensors(value, expected, tol);
  assert.ok(r.ok, `${c.name}/${name}: ${r.reason ?? `${r.mismatches} of ${expected.size} outside atol ${tol.atol} rtol ${tol.rtol}; max abs err ${r.maxAbsErr.toExponential(3)}, worst ratio ${r.worstRatio.toFixed(2)} at ${r.worstIndex}, rel L2 ${r.relL2.toExponential(2)}`}`);
}
