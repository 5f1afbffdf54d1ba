// Builds the browser app (web/) into a static folder: the page and worker bundled by esbuild,
// onnxruntime-web's wasm runtime (the build its bundle loads at run time), and the shipped models.
// Node-only (file system, esbuild); the app itself runs entirely in the page.

import { SHIPPED_MODELS } from "../../io/shipped-models.js";
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../../engine/errors.js";

/** The package root (this file sits at src/cli/web/ or dist/cli/web/). */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const WEB_DIR = join(PACKAGE_ROOT, "web");

/** onnxruntime-web's wasm build that its ESM entry (external-wasm condition) imports from env.wasm.wasmPaths. */
export const ORT_RUNTIME_FILES = ["ort-wasm-simd-threaded.jsep.mjs", "ort-wasm-simd-threaded.jsep.wasm"] as const;
const STATIC_FILES = ["index.html", "style.css"] as const;
/** The shipped models the page loads by default, at the same relative paths as in the package. */
const MODEL_FILES = [SHIPPED_MODELS.fmnist.generator, SHIPPED_MODELS.fmnist.tokenizer].map((f) => `models/${f}`);

export interface SiteFile {
  readonly path: string;
  readonly bytes: number;
}

export interface BuildOptions {
  /** Minify the bundles (default true). */
  readonly minify?: boolean;
}

function ortDist(): string {
  const require = createRequire(import.meta.url);
  // The package's "exports" hide package.json; resolve its CommonJS entry and take its folder.
  return dirname(require.resolve("onnxruntime-web"));
}

function listFiles(dir: string, base = dir): SiteFile[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    const st = statSync(p);
    return st.isDirectory() ? listFiles(p, base) : [{ path: p.slice(base.length + 1), bytes: st.size }];
  });
}

/**
 * Writes the static site to `outDir` (replaced as a whole: built next to it, then renamed into
 * place) and returns its files with their sizes.
 */
export async function buildSite(outDir: string, o: BuildOptions = {}): Promise<SiteFile[]> {
  if (!existsSync(join(WEB_DIR, "main.ts"))) {
    throw new ConfigError({ op: "buildSite", expected: `the app sources in ${WEB_DIR}`, got: "no web/main.ts", hint: "run from a checkout or an installed package that includes web/" });
  }
  const out = resolve(outDir);
  const tmp = `${out}.tmp-${process.pid}-${Date.now()}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, "ort"), { recursive: true });
  try {
    const esbuild = await import("esbuild");
    await esbuild.build({
      entryPoints: { app: join(WEB_DIR, "main.ts"), worker: join(WEB_DIR, "worker.ts") },
      outdir: tmp,
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: o.minify ?? true,
      sourcemap: false,
      // ort.min.mjs: the runtime without the wasm glue inlined; it imports the glue from wasmPaths.
      conditions: ["onnxruntime-web-use-extern-wasm"],
      logLevel: "silent",
      legalComments: "none",
    });
    for (const f of STATIC_FILES) copyFileSync(join(WEB_DIR, f), join(tmp, f));
    const dist = ortDist();
    for (const f of ORT_RUNTIME_FILES) copyFileSync(join(dist, f), join(tmp, "ort", f));
    for (const f of MODEL_FILES) {
      mkdirSync(dirname(join(tmp, f)), { recursive: true });
      copyFileSync(join(PACKAGE_ROOT, f), join(tmp, f));
    }
    rmSync(out, { recursive: true, force: true });
    mkdirSync(dirname(out), { recursive: true });
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof ConfigError) throw e;
    throw new ConfigError({ op: "buildSite", expected: "the web app to bundle", got: (e as Error).message.split("\n").slice(0, 6).join(" | ") });
  }
  return listFiles(out).sort((a, b) => a.path.localeCompare(b.path));
}
