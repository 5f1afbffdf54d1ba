// `maskbit golden <case-dir>...`: reruns golden fixture cases and prints one line per case.

import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "../command.js";
import { runCase } from "../../golden/runners.js";
import { formatReport } from "../../golden/report.js";

export const golden: Command = {
  summary: "Check maskbit against golden fixture directories (case.json + tensors.safetensors).",
  usage: "maskbit golden <case-dir | dir of cases> [...]",
  async run(argv) {
    // A directory of cases (like shared/golden itself) stands for every case inside it.
    const dirs = argv.filter((a) => !a.startsWith("-")).flatMap((d) =>
      !existsSync(join(d, "case.json")) && existsSync(d) && statSync(d).isDirectory()
        ? readdirSync(d).sort().map((c) => join(d, c)).filter((c) => existsSync(join(c, "case.json")))
        : [d]);
    if (dirs.length === 0) {
      console.error(`usage: ${this.usage}`);
      return 2;
    }
    let failed = 0;
    for (const dir of dirs) {
      try {
        const report = await runCase(dir);
        console.log(formatReport(report));
        if (!report.ok) failed++;
      } catch (e) {
        failed++;
        console.log(`FAIL ${dir}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    console.log(`${dirs.length - failed} passed, ${failed} failed`);
    return failed ? 1 : 0;
  },
};
