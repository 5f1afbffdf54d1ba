import { EXIT } from "../../src/cli/errors.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { get } from "node:http";
import { runCli } from "../../src/cli/main.js";
import { serveStatic } from "../../src/cli/web/server.js";
import { ORT_RUNTIME_FILES } from "../../src/cli/web/site.js";

const dir = mkdtempSync(join(tmpdir(), "maskbit-web-cli-"));
const site = join(dir, "site");

test("maskbit web --build writes a static site: page, bundles, onnxruntime-web's wasm, shipped models", async (t) => {
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(await runCli(["web", "--build", site]), 0);
  for (const f of ["index.html", "style.css", "app.js", "worker.js", "models/fmnist/generator.safetensors", "models/fmnist/tokenizer.safetensors", ...ORT_RUNTIME_FILES.map((f) => `ort/${f}`)]) {
    assert.ok(existsSync(join(site, f)) && statSync(join(site, f)).size > 0, f);
  }
  assert.match(readFileSync(join(site, "index.html"), "utf8"), /<script type="module" src="app.js">/);
  // The worker loads the runtime from ort/ (env.wasm.wasmPaths), not a CDN.
  assert.doesNotMatch(readFileSync(join(site, "worker.js"), "utf8"), /cdn\.jsdelivr|unpkg\.com/);
  // Rebuilding into the same folder replaces it.
  assert.equal(await runCli(["web", "--build", site]), 0);
  assert.ok(existsSync(join(site, "app.js")));

  const server = await serveStatic(site);
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(server.url);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("cross-origin-opener-policy"), "same-origin");
    assert.equal(page.headers.get("cross-origin-embedder-policy"), "require-corp");
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    const wasm = await fetch(new URL(`ort/${ORT_RUNTIME_FILES[1]}`, server.url));
    assert.equal(wasm.headers.get("content-type"), "application/wasm");
    await wasm.arrayBuffer();
    assert.equal((await fetch(new URL("nope.js", server.url))).status, 404);
    // No path leaves the site folder (encoded slashes survive URL normalisation, so check them).
    const raw = (path: string) => new Promise<number>((resolve, reject) => {
      get({ host: "127.0.0.1", port: server.port, path }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on("error", reject);
    });
    assert.equal(await raw("/..%2f..%2f..%2fetc%2fpasswd"), 403);
    assert.equal(await raw("/../../etc/passwd"), 404);
    assert.equal((await fetch(server.url, { method: "POST" })).status, 405);
    assert.ok((server.sent.get("/index.html") ?? 0) > 0);
  } finally {
    await server.close();
  }
});

test("maskbit web refuses a non-local host and positional arguments", async () => {
  assert.equal(await runCli(["web", "--host", "0.0.0.0"]), EXIT.usage);
  assert.equal(await runCli(["web", "extra"]), EXIT.usage);
});
