// Shared helpers for the generator tests: golden-case paths, the golden configs as
// GeneratorConfigs, and tolerance-checked comparisons that name the tensor on failure.

import assert from "node:assert/strict";
import { join } from "node:path";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { compareTensors, toleranceFor, type JsonObject } from "../../../src/io/golden.js";
import { validateGeneratorConfig, type GeneratorConfig } from "../../../src/models/generator/config.js";

export const GOLDEN = process.env.MASKBIT_GOLDEN ?? "/work/shared/golden";
export const goldenDir = (name: string): string => join(GOLDEN, name);
export const OFFICIAL_CONFIGS = process.env.MASKBIT_OFFICIAL_CONFIGS ?? "/work/shared/reference/official-configs";

const num = (o: JsonObject, k: string): number => {
  const v = o[k];
  if (typeof v !== "number") throw new Error(`golden config: ${k} is not a number`);
  return v;
};

/** The LFQBert of the generator_k10 / sampler_k10 cases (their `config` / `config.generator`). */
export function goldenGeneratorConfig(c: JsonObject, sampling: Partial<GeneratorConfig["sampling"]> = {}): GeneratorConfig {
  return validateGeneratorConfig({
    arch: c.model_cls === "bert" ? "bert" : "lfq_bert",
    tokenBits: num(c, "token_size"), groups: num(c, "codebook_splits"), hiddenDim: num(c, "hidden_dim"), depth: num(c, "depth"),
    heads: num(c, "heads"), mlpDim: num(c, "mlp_dim"), dropout: num(c, "dropout"), usePrenorm: c.use_prenorm === true,
    numClasses: num(c, "nclass"), tokenGrid: num(c, "img_size") / num(c, "input_stride"),
    training: { classLabelDropout: 0.1, labelSmoothing: num(c, "label_smoothing"), maskSchedule: "arccos", sumSplits: c.sum_splits === true, maskedOnlyLoss: false },
    sampling: {
      steps: 8, guidanceScale: 2.0, guidanceAnnealing: "cosine", scalePow: 3.0, randomizeTemperature: 4.5, softmaxTemperature: 1.0,
      samplingAnnealing: false, maskSchedule: "arccos", ...sampling,
    },
  });
}

/** Asserts `got` matches `expected` within the case tolerance for `name` (integers exactly). */
export function assertGolden(got: HostTensor, expected: HostTensor, tolerance: JsonObject, name: string): void {
  const tol = toleranceFor(tolerance, name);
  const r = compareTensors(got, expected, tol);
  assert.ok(r.ok, `${name}: ${r.reason ?? `${r.mismatches} mismatches, max abs err ${r.maxAbsErr}, worst ratio ${r.worstRatio} at ${r.worstIndex} (got ${got.at(Math.max(r.worstIndex, 0))}, expected ${expected.at(Math.max(r.worstIndex, 0))})`}`);
}

/** Entry i along the first axis (a view, no copy). */
export function at(t: HostTensor, i: number): HostTensor {
  const inner = t.shape.slice(1);
  const size = inner.reduce((a, b) => a * b, 1);
  return new HostTensor(t.dtype, inner, t.data.subarray(i * size, (i + 1) * size));
}

/** A host number as a rank-0 tensor (what `at` gives for one entry of a per-step vector). */
export const scalar0 = (v: number, dtype: "int64" | "float32"): HostTensor =>
  dtype === "int64" ? HostTensor.i64([v], []) : HostTensor.f32([v], []);
