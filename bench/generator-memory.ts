// Where a generator's memory goes during sampling: the process RSS (now and peak) after each stage,
// random weights of the official 14-bit config (or a smaller depth), two sampling steps per batch
// size in turn. One process; read it as a timeline, not as a comparison.
//
//   npx tsx bench/generator-memory.ts [--batches 1,8] [--depth 24] [--threads 2]

import "../src/node/platform.js";
import { Generator } from "../src/models/generator/generator.js";
import { generator14bit } from "../src/models/generator/config.js";

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1]! : dflt; };
const batches = opt("--batches", "1,8").split(",").map(Number);
const cfg = { ...generator14bit, depth: Number(opt("--depth", "24")) };
const t0 = performance.now();
const log = (what: string) => {
  const mu = process.memoryUsage(), rss = mu.rss / 2 ** 20, ab = mu.arrayBuffers / 2 ** 20, peak = process.resourceUsage().maxRSS / 1024;
  console.log(`${what.padEnd(28)} rss ${rss.toFixed(0).padStart(6)} MB   peak ${peak.toFixed(0).padStart(6)} MB   JS buffers ${ab.toFixed(0).padStart(6)} MB   at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
};

log("start");
const gen = Generator.random(cfg, 0, { threads: Number(opt("--threads", "2")) });
log("random weights in JS");
for (const batch of batches) {
  let first = true;
  await gen.sample({
    labels: Array.from({ length: batch }, (_, i) => i % cfg.numClasses), steps: 2, seed: 1,
    onStep: () => { if (first) log(`batch ${batch}: first step`); first = false; },
  });
  log(`batch ${batch}: second step`);
}
console.log(`live sessions: ${gen.sessionCount}`);
await gen.dispose();
