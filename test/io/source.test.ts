// Loading from anywhere: the same model from a path, a URL (a local HTTP server), a Response, a
// Blob, an ArrayBuffer and a Uint8Array, with progress; configs as YAML text, path or object;
// shipped models by name; and clear errors for what cannot be read.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { Generator, Tokenizer, readBytes, CheckpointError, ConfigError, setPlatform, platform } from "../../src/index.js";
import { tokenizerConfigFromYaml, toOfficialSection } from "../../src/models/tokenizer/config.js";

const ROOT = join(import.meta.dirname, "..", "..");
const TOKENIZER = join(ROOT, "models", "fmnist", "tokenizer.safetensors");
const bytes = readFileSync(TOKENIZER);

async function serve(body: Uint8Array): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.url === "/missing") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-length": String(body.length) });
    // Two chunks, so progress is reported more than once.
    res.write(body.subarray(0, body.length >> 1));
    res.end(body.subarray(body.length >> 1));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/tokenizer.safetensors`, close: () => new Promise((r) => server.close(() => r())) };
}

test("readBytes: path, URL, Response, Blob, ArrayBuffer and Uint8Array give the same bytes; progress reaches the total", async () => {
  const http = await serve(bytes);
  try {
    const seen: number[] = [];
    const fromUrl = await readBytes(http.url, { onProgress: (p) => { seen.push(p.loaded); assert.equal(p.total, bytes.length); } });
    assert.ok(seen.length >= 1 && seen.at(-1) === bytes.length, `progress ${seen.join(", ")}`);
    const sources = [TOKENIZER, new URL(http.url), new Response(bytes), new Blob([bytes]), bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), new Uint8Array(bytes)];
    for (const s of sources) assert.deepEqual(Buffer.from(await readBytes(s as never)), bytes, String(s));
    assert.deepEqual(Buffer.from(fromUrl), bytes);
    await assert.rejects(readBytes(http.url.replace("tokenizer.safetensors", "missing")), (e: unknown) => e instanceof CheckpointError && /404/.test(e.message));
    await assert.rejects(readBytes(new Blob([bytes]), { maxBytes: 10 }), (e: unknown) => e instanceof CheckpointError && /at most 10 bytes/.test(e.message));
  } finally {
    await http.close();
  }
});

test("readBytes and load: a wrong path is a CheckpointError saying what was there, not the platform's errno", async () => {
  const dir = mkdtempSync(join(tmpdir(), "maskbit-source-"));
  try {
    const cases: [string, RegExp][] = [
      [join(dir, "missing.safetensors"), /got nothing at this path \(hint: check the path/],
      [dir, /got a directory \(hint: name the model file inside it\)/],
      [join(TOKENIZER, "inside"), /got a file where a directory should be/],
    ];
    for (const [path, message] of cases) {
      await assert.rejects(readBytes(path), (e: unknown) => e instanceof CheckpointError && message.test(e.message) && e.message.includes(path), path);
      await assert.rejects(Generator.load(path), (e: unknown) => e instanceof CheckpointError && message.test(e.message), `Generator.load ${path}`);
      await assert.rejects(Tokenizer.load(path), (e: unknown) => e instanceof CheckpointError && message.test(e.message), `Tokenizer.load ${path}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Tokenizer.load from a URL, a Blob and a Response equals the path load; 'fmnist' names the shipped model", async () => {
  const http = await serve(bytes);
  try {
    const ref = await Tokenizer.load(TOKENIZER);
    const ids = (await ref.encode(new (await import("../../src/engine/host-tensor.js")).HostTensor("float32", [1, 1, 32, 32], new Float32Array(1024).fill(0.5)))).ids.toNumbers();
    for (const source of [http.url, new Blob([bytes]), new Response(bytes), "fmnist"] as const) {
      let loaded = 0;
      const t = await Tokenizer.load(source, { onProgress: (p) => (loaded = p.loaded) });
      assert.deepEqual(t.config, ref.config);
      const img = { data: new Uint8ClampedArray(32 * 32 * 4).fill(128), width: 32, height: 32 };
      assert.equal((await t.encode(img)).ids.toNumbers().length, ids.length);
      assert.ok(loaded === bytes.length, `${String(source)}: progress to ${loaded}`);
      await t.dispose();
    }
    await ref.dispose();
  } finally {
    await http.close();
  }
});

test("configs as YAML text, as a path, and as an object are the same config", async () => {
  const ref = await Tokenizer.load(TOKENIZER);
  const section = toOfficialSection(ref.config);
  const yaml = `model:\n  vq_model:\n${Object.entries(section).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join("\n")}\n`;
  const fromText = await Tokenizer.load(TOKENIZER, { config: yaml });
  assert.deepEqual(fromText.config, ref.config);
  assert.deepEqual(tokenizerConfigFromYaml({ model: { vq_model: section } }), ref.config);
  await Promise.all([ref.dispose(), fromText.dispose()]);
  // A .bin without any config: the error says what to pass.
  const bin = readFileSync(join(ROOT, "..", "shared", "golden", "generator_k10", "weights.bin"));
  await assert.rejects(Generator.load(bin), (e: unknown) => e instanceof ConfigError && /opts\.config/.test(e.message));
});

test("without a file system (a browser), a path is refused with a hint to pass bytes or a URL", async () => {
  const saved = platform();
  setPlatform({ name: "test-browser" });
  try {
    await assert.rejects(Tokenizer.load(TOKENIZER), (e: unknown) => e instanceof ConfigError && /no file system/.test(e.message) && /pass its bytes/.test(e.message));
    await assert.rejects(Tokenizer.load("fmnist"), (e: unknown) => e instanceof ConfigError && /shipped models/.test(e.message));
  } finally {
    setPlatform(saved);
  }
});
