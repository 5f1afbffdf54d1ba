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
// Tests read the committed class-balanced Fashion-MNIST subset (scripts/cut-fmnist-subset.ts), so
// `npm test` passes on a machine without the Debian package; training and evaluation outside the
// tests keep the full dataset as their default.
const env = { ...process.env, MASKBIT_FASHION_MNIST_DIR: process.env.MASKBIT_FASHION_MNIST_DIR ?? join(import.meta.dirname, "..", "test", "fixtures", "fashion-mnist-subset") };
const r = spawnSync(process.execPath, ["--import", "tsx", "--import", "./src/node/platform.ts", "--test", "--test-concurrency=2", ...files], { stdio: "inherit", env });
process.exit(r.status ?? 1);
