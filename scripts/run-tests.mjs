#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's test runner (through tsx), or the files given, with
// Node's platform (onnxruntime-node, node:fs) installed as the "maskbit" Node entry point does.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? find(p) : p.endsWith(".test.ts") ? [p] : [];
  });
}

const files = process.argv.slice(2).length ? process.argv.slice(2) : find("test").sort();
const r = spawnSync(process.execPath, ["--import", "tsx", "--import", "./src/node/platform.ts", "--test", "--test-concurrency=2", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
