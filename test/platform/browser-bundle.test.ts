// The browser entry bundles with no Node built-in and no native module, and the bundle runs: one
// graph, and a shipped-model sample from bytes, on onnxruntime-web (wasm, here in Node) with the
// same token ids as onnxruntime-node for the same seed.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import * as ortWeb from "onnxruntime-web";
import { Generator, Tokenizer } from "../../src/index.js";

const ROOT = join(import.meta.dirname, "..", "..");
const model = (f: string) => readFileSync(join(ROOT, "models", "fmnist", f));

test("the browser bundle of the public API: no Node modules; a graph and a shipped-model sample on onnxruntime-web equal onnxruntime-node's", async () => {
  const dir = mkdtempSync(join(tmpdir(), "maskbit-bundle-"));
  try {
    // onnxruntime-web stays external (a page loads it, with its wasm, next to the bundle); the
    // rest of the bundle's inputs must come from src/ and pure-JS packages.
    const out = join(dir, "maskbit.browser.mjs");
    const result = await build({
      entryPoints: [join(ROOT, "src", "browser.ts")], bundle: true, platform: "browser", format: "esm", write: true, outfile: out,
      external: ["onnxruntime-web"], metafile: true, logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    const packages = [...new Set(inputs.filter((i) => i.includes("node_modules/")).map((i) => i.split("node_modules/")[1]!.split("/")[0]!))].sort();
    assert.deepEqual(packages, ["fflate", "js-yaml"], "only pure-JS dependencies are bundled");
    assert.ok(!inputs.some((i) => i.startsWith("node:")), "no Node built-in");
    assert.ok(inputs.some((i) => i.endsWith("src/browser.ts")));

    // The bundle resolves onnxruntime-web from the project (in Node its wasm build runs in-process).
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
    ortWeb.env.wasm.numThreads = 1;
    const web = (await import(pathToFileURL(out).href)) as typeof import("../../src/index.js");
    assert.equal(web.onnxRuntimeName(), "onnxruntime-web");

    const g = new web.Graph();
    const x = g.input("x", "float32", [2, 3]);
    const w = g.input("w", "float32", [3, 2]);
    const run = await web.CompiledGraph.create(g, { y: web.ops.add(web.ops.matmul(x, w), 1) });
    const y = await run.run({ x: web.HostTensor.f32([1, 2, 3, 4, 5, 6], [2, 3]), w: web.HostTensor.f32([1, 0, 0, 1, 1, 1], [3, 2]) });
    assert.deepEqual(y.y!.toNumbers(), [1 + 1 + 3, 1 + 2 + 3, 1 + 4 + 6, 1 + 5 + 6]);
    await run.dispose();

    const settings = { labels: [0, 5, 9], seed: 11, steps: 6 };
    const webTok = await web.Tokenizer.load(model("tokenizer.safetensors"));
    const webGen = await web.Generator.load(new Uint8Array(model("generator.safetensors")).buffer);
    const fromWeb = await webGen.sample({ ...settings, tokenizer: webTok, clamp: true });

    const tok = await Tokenizer.load("fmnist");
    const gen = await Generator.load("fmnist");
    const fromNode = await gen.sample({ ...settings, tokenizer: tok, clamp: true });
    assert.deepEqual(fromWeb.ids.shape, [3, 8, 8]);
    assert.deepEqual(fromWeb.ids.toNumbers(), fromNode.ids.toNumbers(), "the same ids on both runtimes");
    const a = fromWeb.images!.data as Float32Array, b = fromNode.images!.data as Float32Array;
    const maxDiff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    assert.ok(maxDiff < 1e-4, `decoded images agree (max |diff| ${maxDiff})`);
    // Reduced-precision inference uses standard ops only (DynamicQuantizeLinear, MatMulInteger,
    // Cast from float16): it runs on onnxruntime-web and gives onnxruntime-node's logits.
    const req = { ids: fromNode.ids, labels: settings.labels };
    for (const [dtype, tol] of [["fp16", 1e-5], ["int8", 1e-2]] as const) {
      const wg = await web.Generator.load(new Uint8Array(model("generator.safetensors")).buffer, { dtype });
      const ng = await Generator.load("fmnist", { dtype });
      const [lw, ln] = [(await wg.logits(req)).data as Float32Array, (await ng.logits(req)).data as Float32Array];
      let num = 0, den = 0;
      lw.forEach((v, i) => { num += (v - ln[i]!) ** 2; den += ln[i]! ** 2; });
      assert.ok(Math.sqrt(num / den) < tol, `${dtype} logits, web vs node: relative L2 ${Math.sqrt(num / den)}`);
      const sampled = await wg.sample({ ...settings, steps: 2 });
      assert.ok(sampled.ids.toNumbers().every((v) => v >= 0 && v < 2 ** wg.config.tokenBits), `${dtype} ids on web`);
      await Promise.all([wg.dispose(), ng.dispose()]);
    }
    await Promise.all([webTok.dispose(), webGen.dispose(), tok.dispose(), gen.dispose()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
