// The browser app in Debian's Chromium: the page's generations equal Node's (same models, seed and
// settings; the in-graph RNG makes the draws deterministic), inpainting keeps every unmasked token,
// a bit-plane flip changes the decoded image around the flipped token, and bad input ends as a
// message on the page while the worker keeps working.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { mkdirSync } from "node:fs";
import { Generator } from "../../src/index.js";
import { startApp, type AppSession } from "./harness.js";
import { OFFICIAL_CONFIGS, goldenDir } from "../models/generator/helpers.js";

const SEED = 7, STEPS = 6, GUIDANCE = 2, TEMPERATURE = 1;
const GRID = 8, SIZE = 32, STRIDE = SIZE / GRID;

let app: AppSession;
before(async () => {
  app = await startApp();
  await app.open();
});
after(async () => app?.close());

const messageText = () => app.page.evaluate(() => window.maskbitApp.message());
async function waitMessage(kind: "error" | "info"): Promise<string> {
  await app.page.waitForFunction((k) => window.maskbitApp.message()?.kind === k, kind, { timeout: 30_000 });
  return (await messageText())!.text;
}

test("the backend is chosen automatically and shown; wasm runs threaded in the isolated page", async () => {
  const info = (await app.page.evaluate(() => window.maskbitApp.info()))!;
  assert.equal(info.crossOriginIsolated, true);
  // Headless Chromium with --disable-gpu has navigator.gpu but no adapter, so "auto" picks wasm.
  assert.equal(info.backend, "wasm");
  assert.match(info.backendReason, /navigator\.gpu/);
  assert.ok(info.threads >= 1);
  assert.match(await app.page.textContent("#backend") ?? "", new RegExp(`wasm · ${info.threads} thread`));
  assert.equal(info.classNames.length, 10);
});

test("Generate (clicked): one image per class, ids equal Node's for the same seed and settings, steps previewed", async () => {
  const { page } = app;
  await page.selectOption("#class", "all");
  await page.fill("#steps", String(STEPS));
  await page.fill("#guidance", String(GUIDANCE));
  await page.fill("#temperature", String(TEMPERATURE));
  await page.fill("#seed", String(SEED));
  await page.click("#generate");
  await page.waitForFunction(() => window.maskbitApp.generation() !== undefined, null, { timeout: 120_000 });
  const got = (await page.evaluate(() => window.maskbitApp.generation()))!;
  assert.deepEqual(got.labels, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(await page.evaluate(() => window.maskbitApp.previews()), STEPS);

  const gen = await Generator.load("fmnist", { session: { threads: 1 } });
  try {
    const info = (await page.evaluate(() => window.maskbitApp.info()))!;
    const ref = await gen.sample({
      labels: got.labels, seed: SEED, steps: STEPS, guidanceScale: GUIDANCE, softmaxTemperature: TEMPERATURE,
      randomizeTemperature: info.sampling.randomizeTemperature,
    });
    const ids = ref.ids.toNumbers();
    const expected = got.labels.map((_, i) => ids.slice(i * GRID * GRID, (i + 1) * GRID * GRID));
    assert.deepEqual(got.ids, expected);
  } finally {
    await gen.dispose();
  }
  const metrics = await page.evaluate(() => window.maskbitApp.metrics());
  assert.ok(metrics.firstImageMs! > 0 && metrics.lastStepMs! > 0);
  assert.match(await page.textContent("#metrics") ?? "", /first image .* s after opening · .* ms \/ sampling step/);
});

test("Download PNG saves the grid; the shipped models are in Cache Storage; Cancel stops a generation", async () => {
  const { page } = app;
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  assert.equal(download.suggestedFilename(), `maskbit-seed${SEED}.png`);
  const bytes = await readFile((await download.path())!);
  assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  // 8 columns x 2 rows of 32x32 images, at model resolution.
  assert.deepEqual([bytes.readUInt32BE(16), bytes.readUInt32BE(20)], [8 * SIZE, 2 * SIZE]);

  const cached = await page.evaluate(async () => (await (await caches.open("maskbit-models-v1")).keys()).map((r) => new URL(r.url).pathname).sort());
  assert.deepEqual(cached, ["/models/fmnist/generator.safetensors", "/models/fmnist/tokenizer.safetensors"]);

  const before = await page.evaluate(() => window.maskbitApp.generation()!.ids);
  await page.selectOption("#class", "3");
  await page.fill("#count", "1");
  await page.fill("#steps", "64");
  await page.click("#generate");
  await page.waitForFunction(() => window.maskbitApp.previews() >= 1, null, { timeout: 60_000 });
  await page.click("#cancel");
  assert.equal(await waitMessage("info"), "cancelled");
  assert.ok((await page.evaluate(() => window.maskbitApp.previews())) < 64);
  assert.deepEqual(await page.evaluate(() => window.maskbitApp.generation()!.ids), before);
  await page.fill("#steps", String(STEPS));
});

test("inpainting as another class keeps every unmasked token and regenerates the masked ones", async () => {
  const { page } = app;
  const masked = [2, 3, 4, 5].flatMap((row) => [2, 3, 4, 5].map((col) => row * GRID + col));
  await page.evaluate((m) => {
    window.maskbitApp.pick(0); // the T-shirt
    window.maskbitApp.paintTokens(m);
  }, masked);
  await page.selectOption("#inpaint-class", "1"); // as a trouser
  const r = (await page.evaluate(() => window.maskbitApp.inpaint()))!;
  assert.ok(r, `inpaint failed: ${JSON.stringify(await messageText())}`);
  assert.deepEqual(r.region.flatMap((m, i) => (m ? [i] : [])), masked);
  r.before.forEach((id, i) => {
    if (!r.region[i]) assert.equal(r.after[i], id, `unmasked token ${i} changed`);
  });
  const changed = masked.filter((i) => r.after[i] !== r.before[i]).length;
  // Regenerated tokens may repeat an original one by chance; as another class most must differ.
  assert.ok(changed >= masked.length / 2, `only ${changed} of ${masked.length} masked tokens changed`);
});

test("flipping a bit plane in one token: ids differ by exactly that bit there, pixels change around it", async () => {
  const { page } = app;
  const token = 3 * GRID + 4, plane = 9;
  await page.evaluate((t) => {
    window.maskbitApp.pick(1);
    window.maskbitApp.selectTokens([t]);
  }, token);
  await page.selectOption("#plane", String(plane));
  const r = (await page.evaluate(() => window.maskbitApp.flip()))!;
  assert.ok(r, `flip failed: ${JSON.stringify(await messageText())}`);
  r.before.forEach((id, i) => assert.equal(r.after[i], i === token ? id ^ (1 << plane) : id));
  // The decoder is convolutional (its GroupNorm statistics are image-wide, so far pixels may move
  // by a level or two): the change must sit in the flipped token's neighbourhood.
  const ty = Math.floor(token / GRID), tx = token % GRID, reach = 2 * STRIDE;
  let inside = 0, outside = 0, maxOutside = 0;
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const d = Math.abs(r.afterPixels[(y * SIZE + x) * 4]! - r.beforePixels[(y * SIZE + x) * 4]!);
      const near = y >= ty * STRIDE - reach && y < (ty + 1) * STRIDE + reach && x >= tx * STRIDE - reach && x < (tx + 1) * STRIDE + reach;
      if (near) inside += d;
      else {
        outside += d;
        maxOutside = Math.max(maxOutside, d);
      }
    }
  }
  assert.ok(inside > 0, "the flip changed nothing");
  assert.ok(inside > 4 * outside, `change near the token ${inside}, elsewhere ${outside}`);
  assert.ok(maxOutside <= 24, `a far pixel moved by ${maxOutside} levels`);
});

test("bad input gets a message on the page and the worker keeps working", async () => {
  const { page } = app;
  // A corrupt model file.
  await page.setInputFiles("#gen-file", { name: "broken.safetensors", mimeType: "application/octet-stream", buffer: Buffer.from("\x10\x00\x00\x00\x00\x00\x00\x00{not json at all") });
  await page.click("#gen-load");
  assert.match(await waitMessage("error"), /safetensors|header|JSON/i);
  // A generator whose token bits (12) do not match the tokenizer's (10).
  const dir = mkdtempSync(join(tmpdir(), "maskbit-web-test-"));
  const shipped = await Generator.load("fmnist");
  const wrong = Generator.random({ ...shipped.config, tokenBits: 12, groups: 2, hiddenDim: 32, mlpDim: 64, depth: 1, heads: 2 }, 1);
  wrong.save(join(dir, "gen12.safetensors"));
  await shipped.dispose();
  await page.evaluate(() => document.getElementById("message")!.setAttribute("hidden", ""));
  await page.setInputFiles("#gen-file", join(dir, "gen12.safetensors"));
  await page.click("#gen-load");
  assert.match(await waitMessage("error"), /10-bit tokens.*12-bit/);
  rmSync(dir, { recursive: true, force: true });
  // A non-image upload.
  await page.evaluate(() => document.getElementById("message")!.setAttribute("hidden", ""));
  await page.setInputFiles("#upload", { name: "notes.png", mimeType: "image/png", buffer: Buffer.from("this is not an image\n") });
  assert.match(await waitMessage("error"), /cannot decode|image file/);
  // A mask with nothing painted.
  await page.evaluate(() => {
    document.getElementById("message")!.setAttribute("hidden", "");
    window.maskbitApp.pick(2);
    window.maskbitApp.clearMask();
  });
  await page.click("#inpaint");
  assert.match(await waitMessage("error"), /nothing to inpaint/);
  // Still alive, and still on the shipped generator: a real upload encodes, a flip decodes.
  const png = await page.evaluate(async () => {
    const c = new OffscreenCanvas(28, 28), ctx = c.getContext("2d")!;
    ctx.fillStyle = "#000"; ctx.fillRect(0, 0, 28, 28);
    ctx.fillStyle = "#ddd"; ctx.fillRect(8, 4, 12, 20);
    return [...new Uint8Array(await (await c.convertToBlob({ type: "image/png" })).arrayBuffer())];
  });
  await page.setInputFiles("#upload", { name: "box.png", mimeType: "image/png", buffer: Buffer.from(png) });
  assert.match(await waitMessage("info"), /box\.png: encoded to 64 tokens/);
  assert.equal((await page.evaluate(() => window.maskbitApp.info()))!.generatorName, "Fashion-MNIST (shipped)");
  assert.equal(app.errors.length, 0, app.errors.join("\n"));
});

test("the page logged no errors; screenshot", async () => {
  const { page } = app;
  // A representative state for the screenshot: the grid, an inpainting and a bit flip shown.
  await page.evaluate(() => {
    window.maskbitApp.pick(7);
    window.maskbitApp.selectTokens([27, 28, 35, 36]);
  });
  await page.selectOption("#plane", "8");
  await page.evaluate(() => window.maskbitApp.flip());
  await page.evaluate(() => document.getElementById("message")!.setAttribute("hidden", ""));
  const out = process.env.MASKBIT_WEB_SCREENSHOT ?? join(tmpdir(), "maskbit-web-app.png");
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  writeFileSync(tmp, await page.screenshot({ fullPage: true }));
  renameSync(tmp, out);
  assert.equal(app.errors.length, 0, app.errors.join("\n"));
});

test("an official generator .bin with its YAML loads by file picker, samples, and the shipped one comes back by URL", async () => {
  const { page } = app;
  // generator_k10: a small network in the released torch.save format (10-bit tokens, like the
  // shipped tokenizer); its YAML is the official 10-bit recipe with that network's sizes.
  const yaml = readFileSync(join(OFFICIAL_CONFIGS, "generator/maskbit_generator_10bit.yaml"), "utf8")
    .replace(/hidden_dim: 1024/, "hidden_dim: 64").replace(/depth: 24/, "depth: 2").replace(/heads: 16/, "heads: 4")
    .replace(/mlp_dim: 4096/, "mlp_dim: 256").replace(/num_steps: 64/, "num_steps: 4").replace(/resolution: 256/, "resolution: 64")
    .replace(/model_cls: "lfq_bert"/, 'model_cls: "lfq_bert"\n        nclass: 10');
  await page.evaluate(() => document.getElementById("message")!.setAttribute("hidden", ""));
  await page.setInputFiles("#gen-file", join(goldenDir("generator_k10"), "weights.bin"));
  await page.setInputFiles("#gen-config", { name: "maskbit_generator_k10.yaml", mimeType: "text/yaml", buffer: Buffer.from(yaml) });
  await page.click("#gen-load");
  assert.equal(await waitMessage("info"), "loaded generator weights.bin");
  const info = (await page.evaluate(() => window.maskbitApp.info()))!;
  assert.deepEqual([info.generatorName, info.tokenBits, info.grid, info.imageSize], ["weights.bin", 10, 4, 16]);
  await page.selectOption("#class", "all");
  await page.fill("#steps", "2");
  const g = (await page.evaluate(() => window.maskbitApp.generate()))!;
  assert.ok(g, JSON.stringify(await messageText()));
  assert.equal(g.ids.length, 10);
  assert.ok(g.ids.every((ids) => ids.length === 16));

  await page.fill("#gen-url", "models/fmnist/generator.safetensors");
  await page.click("#gen-load");
  assert.equal(await waitMessage("info"), "loaded generator models/fmnist/generator.safetensors");
  assert.equal((await page.evaluate(() => window.maskbitApp.info()))!.grid, 8);
  assert.equal(app.errors.length, 0, app.errors.join("\n"));
});
