// What a golden run reports: one check per compared tensor, judged by the case's own tolerance.

import type { HostTensor } from "../engine/host-tensor.js";
import { compareTensors, toleranceFor, type GoldenCase } from "../io/golden.js";

export interface Check {
  readonly tensor: string;
  readonly ok: boolean;
  /** max |got - expected| / (atol + rtol |expected|); <= 1 passes (for exact checks: 0 or Infinity). */
  readonly worst: number;
  readonly detail: string;
}

export interface CaseReport {
  readonly name: string;
  readonly kind: string;
  readonly checks: readonly Check[];
  readonly ok: boolean;
  readonly worst: Check | undefined;
}

/** Compares each named output with the case's expected tensor under the case's tolerance. */
export function checkOutputs(c: GoldenCase, got: ReadonlyMap<string, HostTensor> | Readonly<Record<string, HostTensor>>): Check[] {
  const entries = got instanceof Map ? [...got] : Object.entries(got);
  return entries.map(([name, value]) => {
    const expected = c.tensors.get(name);
    if (!expected) return { tensor: name, ok: false, worst: Infinity, detail: `no expected tensor "${name}" in ${c.name}` };
    // Fixtures store scalars as [1]; graphs produce [].
    const v = value.size === expected.size && value.shape.length !== expected.shape.length ? value.reshape(expected.shape) : value;
    const r = compareTensors(v, expected, toleranceFor(c.tolerance, name));
    const detail = r.ok
      ? `worst ${r.worstRatio.toFixed(3)} of tolerance (max abs err ${r.maxAbsErr.toExponential(2)})`
      : r.reason ?? `worst ${r.worstRatio.toExponential(3)} of tolerance at ${r.worstIndex}, max abs err ${r.maxAbsErr.toExponential(3)}, rel L2 ${r.relL2.toExponential(3)}, ${r.mismatches} mismatches`;
    return { tensor: name, ok: r.ok, worst: r.worstRatio, detail };
  });
}

export function summarise(c: GoldenCase, checks: readonly Check[]): CaseReport {
  const worst = [...checks].sort((a, b) => (a.ok === b.ok ? b.worst - a.worst : a.ok ? 1 : -1))[0];
  return { name: c.name, kind: c.kind, checks, ok: checks.length > 0 && checks.every((k) => k.ok), worst };
}

export function formatReport(r: CaseReport): string {
  const status = r.ok ? "PASS" : "FAIL";
  const failed = r.checks.filter((k) => !k.ok);
  const head = `${status} ${r.name} (${r.kind}): ${r.checks.length} tensors, worst ${r.worst ? `${r.worst.tensor}: ${r.worst.detail}` : "nothing compared"}`;
  const others = failed.filter((k) => k !== r.worst);
  return others.length ? `${head}\n${others.slice(0, 5).map((k) => `     also ${k.tensor}: ${k.detail}`).join("\n")}` : head;
}
