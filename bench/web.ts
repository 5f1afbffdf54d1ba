// Browser benchmark (`npm run bench:web`): the app in Debian's headless Chromium (wasm backend, 1
// and N threads) against Node's onnxruntime-node on the same machine and the same generation:
// the shipped Fashion-MNIST models, one image per class (batch 10), guidance 2, seed 1.
//
//   time to first image  page navigation -> first generated grid drawn (fresh profile: nothing
//                        cached, models fetched, sessions compiled, 8 sampling steps)
//   ms / step            median wall time of one sampling step (the sampler's run, without the
//                        per-step preview decode), batch 10 and batch 1
//   bytes transferred    everything the page fetched on first load (no compression)
//
//   npm run bench:web -- [--steps 8] [--threads N]

import "../src/node/platform.js";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { Generator } from "../src/models/generator/generator.js";
import { startApp } from "../test/web/harness.js";

const { values } = parseArgs({ options: { steps: { type: "string", default: "8" }, threads: { type: "string" } } });
const steps = Number(values.steps);
const maxThreads = Number(values.threads ?? cpus().length);
const labels10 = Array.from({ length: 10 }, (_, i) => i);
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Row { readonly where: string; readonly firstImageS?: number; readonly step10: number; readonly step1: number; readonly bytes?: number }
const rows: Row[] = [];

async function browser(threads: number): Promise<void> {
  const app = await startApp();
  try {
    const { page } = app;
    await page.goto(`${app.server.url}?threads=${threads}&autogenerate`);
    await page.fill("#steps", String(steps)).catch(() => undefined);
    await page.waitForFunction(() => window.maskbitApp.metrics().firstImageMs !== undefined, null, { timeout: 600_000 });
    const info = (await page.evaluate(() => window.maskbitApp.info()))!;
    const first = (await page.evaluate(() => window.maskbitApp.metrics())).firstImageMs!;
    const bytes = [...app.server.sent.values()].reduce((a, b) => a + b, 0);
    const files = [...app.server.sent.entries()].map(([p, n]) => `${p} ${(n / 1e6).toFixed(2)} MB`).join(", ");
    const run = async (cls: string) => {
      await page.selectOption("#class", cls);
      await page.fill("#count", "1");
      await page.fill("#steps", String(steps));
      await page.fill("#seed", "1");
      await page.evaluate(() => window.maskbitApp.generate());
      return (await page.evaluate(() => window.maskbitApp.metrics())).lastStepMs!;
    };
    const step10 = await run("all");
    const step1 = await run("0");
    console.log(`chromium wasm x${info.threads} (${info.backendReason}): first image ${(first / 1000).toFixed(2)} s, ${step10.toFixed(1)} ms/step batch 10, ${step1.toFixed(1)} ms/step batch 1; ${(bytes / 1e6).toFixed(2)} MB (${files})`);
    if (app.errors.length) console.log(`page errors: ${app.errors.join("; ")}`);
    rows.push({ where: `Chromium ${info.backend}, ${info.threads} thread${info.threads === 1 ? "" : "s"}`, firstImageS: first / 1000, step10, step1, bytes });
  } finally {
    await app.close();
  }
}

async function node(threads: number): Promise<void> {
  const gen = await Generator.load("fmnist", { session: { threads } });
  const time = async (labels: number[]) => {
    const ms: number[] = [];
    let last = performance.now();
    await gen.sample({ labels, seed: 1, steps, guidanceScale: 2, onStep: () => { ms.push(performance.now() - last); last = performance.now(); } });
    return median(ms);
  };
  await time([0]); // compile outside the figure, as the browser's second run is
  await time(labels10);
  const step10 = await time(labels10), step1 = await time([0]);
  console.log(`node onnxruntime-node x${threads}: ${step10.toFixed(1)} ms/step batch 10, ${step1.toFixed(1)} ms/step batch 1`);
  rows.push({ where: `Node onnxruntime-node, ${threads} thread${threads === 1 ? "" : "s"}`, step10, step1 });
  await gen.dispose();
}

for (const t of [...new Set([1, maxThreads])]) await browser(t);
for (const t of [...new Set([1, maxThreads])]) await node(t);

console.log("\n| where | time to first image | ms / step, batch 10 (guided) | ms / step, batch 1 (guided) | bytes transferred |");
console.log("|---|---|---|---|---|");
for (const r of rows) {
  console.log(`| ${r.where} | ${r.firstImageS !== undefined ? `${r.firstImageS.toFixed(1)} s` : "–"} | ${r.step10.toFixed(0)} | ${r.step1.toFixed(0)} | ${r.bytes !== undefined ? `${(r.bytes / 1e6).toFixed(1)} MB` : "–"} |`);
}
