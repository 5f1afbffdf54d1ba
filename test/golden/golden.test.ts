// Every case in ../shared/golden through the same runners as `npm run golden`. A case whose kind
// has no runner fails: nothing is skipped.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { runCase } from "../../src/golden/runners.js";
import { formatReport } from "../../src/golden/report.js";

const GOLDEN = process.env.MASKBIT_GOLDEN_DIR ?? join(import.meta.dirname, "../../../shared/golden");

test("the golden fixture directory exists", () => {
  assert.ok(existsSync(GOLDEN), `no golden fixtures at ${GOLDEN} (set MASKBIT_GOLDEN_DIR)`);
});

const cases = existsSync(GOLDEN) ? readdirSync(GOLDEN).filter((d) => existsSync(join(GOLDEN, d, "case.json"))).sort() : [];

for (const name of cases) {
  test(`golden ${name}`, async () => {
    const report = await runCase(join(GOLDEN, name));
    assert.ok(report.ok, formatReport(report));
  });
}
