// The package as a user gets it: `npm pack`, the tarball installed into a fresh project with the
// documented offline setting (ONNXRUNTIME_NODE_INSTALL=skip: no CUDA download, only the npm
// registry), the README's "Library" snippet type-checked under `strict` with `skipLibCheck: false`
// and run verbatim from another working directory.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string; devDependencies: Record<string, string> };

/** The README's library snippet, between its markers. */
function readmeSnippet(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const m = /<!-- library-snippet[^>]*-->\s*```ts\n([\s\S]*?)```\s*<!-- \/library-snippet -->/.exec(readme);
  assert.ok(m, "README has the marked library snippet");
  return m[1]!;
}

const npm = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) =>
  execFileSync("npm", args, { cwd, env: { ...process.env, ...env, npm_config_fund: "false", npm_config_audit: "false", npm_config_update_notifier: "false" }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

test("npm pack -> install into a fresh project offline-safe -> README snippet type-checks (strict, skipLibCheck false) and runs from another directory", { timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "maskbit-pack-"));
  try {
    const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", dir], ROOT)) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    const top = [...new Set(files.map((f) => f.split("/")[0]!))].sort();
    assert.deepEqual(top, ["LICENSE", "README.md", "bin", "dist", "models", "package.json"], "the tarball holds dist, models, bin, README and LICENSE only");
    assert.ok(files.includes("dist/node.js") && files.includes("dist/browser.js") && files.includes("dist/node.d.ts"));
    assert.ok(files.includes("models/fmnist/generator.safetensors"));
    assert.ok(!files.some((f) => f.endsWith(".map")), "no source maps pointing at sources that are not shipped");

    const project = join(dir, "consumer");
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    const tgz = join(dir, packed[0]!.filename);
    npm(["install", "--no-package-lock", "--prefer-offline", tgz, `typescript@${pkg.devDependencies.typescript}`, `@types/node@${pkg.devDependencies["@types/node"]}`], project, { ONNXRUNTIME_NODE_INSTALL: "skip" });
    assert.ok(existsSync(join(project, "node_modules", "maskbit", "dist", "node.js")));

    writeFileSync(join(project, "snippet.ts"), readmeSnippet());
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: false, outDir: "out", types: ["node"] },
      files: ["snippet.ts"],
    }));
    try {
      execFileSync(process.execPath, [join(project, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: project, encoding: "utf8", stdio: "pipe" });
    } catch (e) {
      assert.fail(`consumer type check failed:\n${(e as { stdout?: string }).stdout ?? e}`);
    }

    // Another working directory: the shipped models must be found beside the package, not the cwd.
    const elsewhere = join(dir, "elsewhere");
    mkdirSync(elsewhere);
    const out = execFileSync(process.execPath, [join(project, "out", "snippet.js")], { cwd: elsewhere, encoding: "utf8", stdio: "pipe" });
    assert.match(out, /\[ 3, 8, 8 \] \[ 3, 8, 8 \]/, "ids and re-encoded tokens are [B, h, w]");
    const png = readFileSync(join(elsewhere, "sample.png"));
    assert.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(""), "PNG");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
