// Exported ONNX files stand alone: loaded in a bare ONNX Runtime session (no maskbit code in the
// loop, only onnxruntime-node's own API), they give maskbit's outputs. External data (the path
// past protobuf's 2 GB limit) is exercised with a zero threshold.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { Generator, Tokenizer, HostTensor, CompiledGraph } from "../../src/index.js";
import { exportOnnx } from "../../src/models/export-onnx.js";
import { buildSamplerStep } from "../../src/models/generator/sampler.js";
import { exportModel } from "../../src/engine/onnx/export.js";
import { Graph } from "../../src/engine/graph/tensor.js";
import { add, matmul } from "../../src/engine/ops/index.js";
import { ParamStore } from "../../src/engine/params.js";
import { Rng } from "../../src/engine/rng.js";

const bare = (bytes: Uint8Array) => ort.InferenceSession.create(bytes);
const ortT = (t: HostTensor) => new ort.Tensor(t.dtype as "float32", t.data as Float32Array, [...t.shape]);
const num = (t: ort.Tensor) => Array.from(t.data as ArrayLike<number | bigint>, Number);

test("export-onnx: encoder, decoder and one sampling step in a bare ONNX Runtime session equal maskbit's outputs; no unused opsets", async () => {
  const tokenizer = await Tokenizer.load("fmnist");
  const generator = await Generator.load("fmnist");
  const files = exportOnnx({ tokenizer, generator }, { batch: 2 });
  assert.deepEqual(files.map((f) => f.fileName), ["tokenizer-encoder.onnx", "tokenizer-decoder.onnx", "generator-step.onnx"]);
  for (const f of files) {
    assert.ok(!f.inputs.some((i) => i.kind === "param"), `${f.name}: weights are embedded, not inputs`);
    assert.ok(!Buffer.from(f.bytes).includes("com.microsoft"), `${f.name}: only the default ONNX domain is imported`);
  }
  const [enc, dec, step] = files as [typeof files[0], typeof files[0], typeof files[0]];

  const rng = new Rng(5);
  const images = HostTensor.f32(Array.from({ length: 2 * 32 * 32 }, () => rng.uniform()), [2, 1, 32, 32]);
  const encoded = await (await bare(enc.bytes)).run({ images: ortT(images) });
  const mine = await tokenizer.encode(images);
  assert.deepEqual(num(encoded.ids!), mine.ids.toNumbers());
  assert.deepEqual(encoded.ids!.dims, [2, 8, 8]);

  const decoded = await (await bare(dec.bytes)).run({ ids: ortT(mine.ids) });
  const myImages = await tokenizer.decode(mine.ids, { clamp: true });
  const maxDiff = num(decoded.images!).reduce((m, v, i) => Math.max(m, Math.abs(v - (myImages.data as Float32Array)[i]!)), 0);
  assert.ok(maxDiff < 1e-5, `decoder max |diff| ${maxDiff}`);

  const cfg = generator.config;
  const feeds = {
    tokens: new HostTensor("int64", [2, 64, cfg.groups], new BigInt64Array(2 * 64 * cfg.groups).fill(BigInt(2 ** (cfg.tokenBits / cfg.groups)))),
    labels: HostTensor.i64([3, 7]), seed: HostTensor.i64([42], []), cfgScale: HostTensor.scalar(2), temperature: HostTensor.scalar(1),
    randomizeTemperature: HostTensor.scalar(4.5), oneMinusProgress: HostTensor.scalar(0.9), thresholdIndex: HostTensor.i64([100, 100]),
  };
  const standalone = await (await bare(step.bytes)).run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, ortT(v)])));
  const { graph, outputs } = buildSamplerStep(cfg, { batch: 2, guidance: true, randomness: "seed" });
  const session = await CompiledGraph.create(graph, outputs);
  const ours = await session.run(feeds, generator.params);
  for (const k of ["next", "predicted", "ids", "numMasked"]) assert.deepEqual(num(standalone[k]!), ours[k]!.toNumbers(), `generator-step ${k}`);
  await Promise.all([session.dispose(), tokenizer.dispose(), generator.dispose()]);
});

test("exportModel with external data: weights in a file beside the model, loaded by ONNX Runtime from disk", async () => {
  const g = new Graph();
  const x = g.input("x", "float32", [1, 3]);
  const w = g.param("w", [3, 2], { kind: "constant", value: 0 });
  const b = g.param("b", [2], { kind: "constant", value: 0 });
  const params = new ParamStore(new Map([["w", HostTensor.f32([1, 2, 3, 4, 5, 6], [3, 2])], ["b", HostTensor.f32([10, 20])]]));
  const model = exportModel(g, { y: add(matmul(x, w), b) }, { embed: params, externalData: { location: "m.onnx.data", thresholdBytes: 0 } });
  assert.ok(model.externalData && model.externalData.length >= 2, "weights moved out");
  const dir = mkdtempSync(join(tmpdir(), "maskbit-ext-"));
  try {
    writeFileSync(join(dir, "m.onnx"), model.bytes);
    writeFileSync(join(dir, "m.onnx.data"), Buffer.concat(model.externalData.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))));
    const s = await ort.InferenceSession.create(join(dir, "m.onnx"));
    const y = await s.run({ x: new ort.Tensor("float32", Float32Array.from([1, 1, 1]), [1, 3]) });
    assert.deepEqual(num(y.y!), [1 + 3 + 5 + 10, 2 + 4 + 6 + 20]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
