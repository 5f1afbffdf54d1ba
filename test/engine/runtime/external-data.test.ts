// Resident weights above EXTERNAL_DATA_AFTER_BYTES are compiled through the platform's
// ExternalDataLoader (Node: model and weights in a temporary directory, opened by path, removed
// at once) instead of from in-memory bytes. Same session values either way; a loader that cannot
// write its files falls back to bytes; any other failure is reported.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { matmul } from "../../../src/engine/ops/index.js";
import { CompiledGraph, EXTERNAL_DATA_AFTER_BYTES } from "../../../src/engine/runtime/session.js";
import { installedExternalDataLoader, setExternalDataLoader, type ExternalDataLoader } from "../../../src/engine/runtime/backend.js";
import { Rng, randn } from "../helpers.js";

const rng = new Rng(11);
// One weight just over the threshold, one well under it (it stays in the protobuf beside the data file).
const [K, N] = [1024, Math.ceil(EXTERNAL_DATA_AFTER_BYTES / 4 / 1024) + 8];

function graph() {
  const g = new Graph();
  const x = g.input("x", "float32", [2, K]);
  const w = g.param("big", [K, N], { kind: "constant", value: 0 });
  const v = g.param("small", [N, 3], { kind: "constant", value: 0 });
  return { g, y: matmul(matmul(x, w), v) };
}
const params = new Map([["big", randn(rng, [K, N], 0.03)], ["small", randn(rng, [N, 3], 0.03)]]);
const x = randn(rng, [2, K]);
// This process's directories only: other test files compile in parallel processes.
const ours = () => readdirSync(tmpdir()).filter((f) => f.startsWith(`maskbit-session-${process.pid}-`));

async function run(): Promise<HostTensor> {
  const { g, y } = graph();
  const c = await CompiledGraph.create(g, { y }, { threads: 1 }, { residentWeights: params });
  try {
    return (await c.run({ x })).y!;
  } finally {
    await c.dispose();
  }
}

test("Node installs a loader; resident weights compiled from files give the values compiled from bytes, and leave no files", async () => {
  const node = installedExternalDataLoader();
  assert.ok(node, "src/node/platform.ts installs the file loader");
  const calls: { location: string; bytes: number }[] = [];
  const spy: ExternalDataLoader = (model, data, options) => {
    calls.push({ location: data.location, bytes: data.chunks.reduce((n, c) => n + c.length, 0) });
    return node(model, data, options);
  };
  const before = ours().length;
  setExternalDataLoader(spy);
  let fromFiles: HostTensor;
  try {
    fromFiles = await run();
  } finally {
    setExternalDataLoader(node);
  }
  assert.equal(calls.length, 1);
  assert.ok(calls[0]!.bytes >= K * N * 4, `the weights went to the data file (${calls[0]!.bytes} bytes)`);
  assert.equal(ours().length, before, "the temporary directory is removed");

  setExternalDataLoader(undefined);
  try {
    const fromBytes = await run();
    assert.deepEqual(Array.from(fromFiles.data as Float32Array), Array.from(fromBytes.data as Float32Array));
  } finally {
    setExternalDataLoader(node);
  }
});

test("a loader that cannot write its files (ENOSPC) falls back to bytes; other failures are reported", async () => {
  const node = installedExternalDataLoader()!;
  const want = await run();
  try {
    setExternalDataLoader(async () => { throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }); });
    assert.deepEqual(Array.from((await run()).data as Float32Array), Array.from(want.data as Float32Array));
    setExternalDataLoader(async () => { throw new Error("the runtime refused the model"); });
    await assert.rejects(run(), /the runtime refused the model/);
  } finally {
    setExternalDataLoader(node);
  }
});

test("small resident weights and fed weights never go through the loader", async () => {
  const node = installedExternalDataLoader()!;
  let calls = 0;
  setExternalDataLoader((m, d, o) => (calls++, node(m, d, o)));
  try {
    const g = new Graph();
    const xs = g.input("x", "float32", [2, 4]);
    const y = matmul(xs, g.param("w", [4, 3], { kind: "constant", value: 0 }));
    const w = new Map([["w", randn(rng, [4, 3])]]);
    const resident = await CompiledGraph.create(g, { y }, { threads: 1 }, { residentWeights: w });
    const fed = await CompiledGraph.create(g, { y }, { threads: 1 });
    await Promise.all([resident.dispose(), fed.dispose()]);
    assert.equal(calls, 0);
  } finally {
    setExternalDataLoader(node);
  }
});
