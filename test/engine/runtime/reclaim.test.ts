// After compiling from large model bytes (resident weights), the bytes are freed at once
// (reclaimMemory), and the Node entry point installs a reclaimer that really frees them.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { matmul } from "../../../src/engine/ops/index.js";
import { ParamStore } from "../../../src/engine/params.js";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { CompiledGraph } from "../../../src/engine/runtime/session.js";
import { reclaimMemory, setExternalDataLoader, setMemoryReclaimer } from "../../../src/engine/runtime/backend.js";

function model(n: number) {
  const g = new Graph();
  const x = g.input("x", "float32", [1, n]);
  const y = matmul(x, g.param("w", [n, n], { kind: "constant", value: 0.5 }));
  return { g, y, params: ParamStore.init(g.paramSpecs.values(), 1) };
}

test("compiling from >= 64 MiB of model bytes runs the reclaimer once; a small model does not", async () => {
  let calls = 0;
  const node = setMemoryReclaimer(() => void calls++);
  // Without a file loader (as in a browser) the weights travel inside the model bytes.
  const loader = setExternalDataLoader(undefined);
  try {
    const small = model(64);
    await (await CompiledGraph.create(small.g, { y: small.y }, { threads: 1 }, { residentWeights: small.params })).dispose();
    assert.equal(calls, 0);
    const big = model(4200); // 4200^2 float32 = 67.3 MiB
    const c = await CompiledGraph.create(big.g, { y: big.y }, { threads: 1 }, { residentWeights: big.params });
    assert.equal(calls, 1);
    const out = await c.run({ x: HostTensor.f32(new Array(4200).fill(1), [1, 4200]) });
    assert.equal(out.y!.at(0), 2100);
    await c.dispose();
    // With Node's file loader the weights go to a file, not into bytes: nothing to reclaim.
    setExternalDataLoader(loader);
    await (await CompiledGraph.create(big.g, { y: big.y }, { threads: 1 }, { residentWeights: big.params })).dispose();
    assert.equal(calls, 1);
  } finally {
    setMemoryReclaimer(node);
    setExternalDataLoader(loader);
  }
});

test("the Node reclaimer frees an unreachable ArrayBuffer at once", async () => {
  const before = process.memoryUsage().arrayBuffers;
  let big: Uint8Array | undefined = new Uint8Array(256 * 2 ** 20).fill(1);
  assert.ok(process.memoryUsage().arrayBuffers >= before + big.length);
  big = undefined;
  reclaimMemory();
  assert.ok(process.memoryUsage().arrayBuffers < before + 2 ** 20, `JS buffers after reclaim: ${process.memoryUsage().arrayBuffers - before} bytes over the start`);
});
