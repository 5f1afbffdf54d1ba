// The import graph keeps the layout honest: layers import only downward (the paper's figure read
// bottom-up: engine, then io/config, then data and the Node adapters, then the models, then
// eval/train, then golden/experiments and the CLI on top), and nothing the browser entry reaches
// imports a Node built-in or a native module.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

const SRC = join(import.meta.dirname, "..", "..", "src");

/** Rank of each top-level room; a file may import files of its own rank or lower. */
const RANK: Readonly<Record<string, number>> = {
  engine: 0, io: 1, config: 1, data: 2, node: 2, models: 3, features: 4, eval: 5, train: 6, golden: 7, experiments: 7, cli: 8,
  "index.ts": 9, "node.ts": 9, "browser.ts": 9,
};

/** Modules that exist only in Node (built-ins) or carry native code. */
const NODE_ONLY = /^(node:|fs$|path$|os$|zlib$|crypto$|child_process$|url$|sharp$|@napi-rs\/canvas$|chart\.js$|onnxruntime-node$)/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Every module specifier a file imports: static imports and re-exports, side-effect and literal dynamic imports. */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found: string[] = [];
  for (const re of [/\b(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/g, /\bimport\s*["']([^"']+)["']/g, /\bimport\(\s*["']([^"']+)["']\s*\)/g]) {
    for (const m of code.matchAll(re)) found.push(m[1]!);
  }
  return found;
}

const room = (file: string): string => relative(SRC, file).split(/[\\/]/)[0]!;

function resolveLocal(from: string, spec: string): string {
  return normalize(join(dirname(from), spec)).replace(/\.js$/, ".ts");
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(readFileSync(f, "utf8"))]));

test("importsOf finds static, re-export, side-effect and dynamic imports, and skips comments", () => {
  const text = 'import a from "x";\nexport { b } from "./y.js";\nimport "z";\nconst c = await import("w");\n// import d from "commented";\nimport type { T } from "t";';
  assert.deepEqual(importsOf(text).sort(), ["./y.js", "t", "w", "x", "z"]);
});

test("every room of src/ has a rank (a new top-level folder must be placed in the layering)", () => {
  const unknown = [...new Set(files.map(room))].filter((r) => RANK[r] === undefined);
  assert.deepEqual(unknown, []);
});

test("layers import only downward", () => {
  const violations: string[] = [];
  for (const [file, specs] of graph) {
    for (const spec of specs.filter((s) => s.startsWith("."))) {
      const target = resolveLocal(file, spec);
      const from = room(file), to = room(target);
      if ((RANK[to] ?? -1) > (RANK[from] ?? -1)) violations.push(`${relative(SRC, file)} (${from}) imports ${relative(SRC, target)} (${to})`);
    }
  }
  assert.deepEqual(violations, [], violations.join("\n"));
});

test("nothing the browser entry reaches imports a Node built-in or native module", () => {
  const entry = join(SRC, "browser.ts");
  const seen = new Set<string>(), stack = [entry], offending: string[] = [];
  while (stack.length) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    const specs = graph.get(f);
    assert.ok(specs, `${relative(SRC, f)} is imported but not found`);
    for (const spec of specs) {
      if (spec.startsWith(".")) stack.push(resolveLocal(f, spec));
      else if (NODE_ONLY.test(spec)) offending.push(`${relative(SRC, f)} imports ${spec}`);
    }
  }
  assert.ok(seen.size > 50, `the browser entry reaches the core (${seen.size} files)`);
  assert.deepEqual(offending, [], offending.join("\n"));
});

test("the core rooms (engine, models) never import Node-only modules, even outside the browser's reach", () => {
  const offending = [...graph].flatMap(([f, specs]) =>
    ["engine", "models"].includes(room(f)) ? specs.filter((s) => NODE_ONLY.test(s)).map((s) => `${relative(SRC, f)} imports ${s}`) : []);
  assert.deepEqual(offending, [], offending.join("\n"));
});
