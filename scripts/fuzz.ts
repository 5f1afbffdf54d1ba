// Long fuzzing run of every file reader (the properties of test/io/fuzz-properties.ts): each
// property gets `--seconds` (default 20) of random inputs from a fresh seed, or `--seed N` to
// replay. Reports per property: runs, and the first counterexample (shrunk) if one was found.
// The slowest input of each property is replayed; one slower than --slow-ms (default 1000) on every
// replay is reported too: a hang in disguise.
//   npm run fuzz -- --seconds 60

import fc from "fast-check";
import { imageProperties, syncProperties, timing } from "../test/io/fuzz-properties.js";

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const seconds = arg("seconds", 20), slowMs = arg("slow-ms", 1000);
const seed = arg("seed", Date.now() % 2 ** 31);
const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1]! : "";

let failures = 0;
async function run(name: string, property: fc.IRawProperty<unknown[]>): Promise<void> {
  if (!name.includes(only)) return;
  timing.slowestMs = 0;
  timing.runs = 0;
  const details = await fc.check(property, { seed, numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false });
  const { runs, replaySlowest } = timing;
  let slowest = timing.slowestMs;
  if (slowest > slowMs) {
    // Replayed three times: only an input that is slow every time is a finding, not a GC pause or a busy machine.
    for (let i = 0; i < 3 && slowest > slowMs; i++) {
      timing.slowestMs = 0;
      const t = performance.now();
      await replaySlowest();
      slowest = Math.min(slowest, performance.now() - t);
    }
  }
  const slow = slowest > slowMs ? ` SLOW (${slowest.toFixed(0)} ms on every replay)` : "";
  if (details.failed) {
    failures++;
    console.log(`FAIL ${name}: seed ${seed}, path ${details.counterexamplePath}\n  counterexample: ${fc.stringify(details.counterexample)}\n  error: ${String(details.errorInstance)}`);
  } else {
    console.log(`ok   ${name}: ${runs} inputs, slowest ${slowest.toFixed(1)} ms${slow}`);
  }
  if (slow) failures++;
}

console.log(`fuzz: seed ${seed}, ${seconds} s per property`);
for (const [name, p] of Object.entries(syncProperties)) await run(name, p as unknown as fc.IRawProperty<unknown[]>);
for (const [name, p] of Object.entries(await imageProperties())) await run(name, p as unknown as fc.IRawProperty<unknown[]>);
process.exit(failures ? 1 : 0);
