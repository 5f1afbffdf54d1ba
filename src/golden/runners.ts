// One runner per fixture kind: it rebuilds the case with maskbit's own code and returns the
// checks. `npm run golden -- <dir>` and the test suite both go through here, so a case is judged
// the same way everywhere.

import { loadGoldenCase } from "../io/golden.js";
import { summarise, type CaseReport } from "./report.js";
import { ConfigError } from "../engine/errors.js";
import { RUNNERS, type CaseRunner } from "./kinds.js";

export type { CaseRunner };

export function knownKinds(): string[] {
  return Object.keys(RUNNERS).sort();
}

export async function runCase(dir: string): Promise<CaseReport> {
  const c = loadGoldenCase(dir);
  const load = RUNNERS[c.kind];
  if (!load) {
    throw new ConfigError({ op: "golden", scope: dir, expected: `a case kind maskbit implements (${knownKinds().join(", ")})`, got: `"${c.kind}"` });
  }
  return summarise(c, await (await load())(c));
}
