// Model-level bench workloads shared by bench/models.ts (side by side with PyTorch) and
// bench/scaling.ts (cost against batch size and steps): random inputs, the training steps of both
// stages compiled as forward + backward with every parameter gradient fetched, and the
// Fashion-MNIST models (shipped weights when present).

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { Graph, type Tensor } from "../src/engine/graph/tensor.js";
import { HostTensor, shapeSize } from "../src/engine/host-tensor.js";
import { CompiledGraph, type ParamSource, type SessionOptions } from "../src/engine/runtime/session.js";
import { grad } from "../src/engine/autodiff/grad.js";
import { add, mul, reduceMean, square, sub } from "../src/engine/ops/index.js";
import { Rng } from "../src/engine/rng.js";
import { Tokenizer } from "../src/models/tokenizer/tokenizer.js";
import { loadTokenizerConfig } from "../src/models/tokenizer/config.js";
import { buildTokenizerForward } from "../src/models/tokenizer/forward.js";
import { Generator } from "../src/models/generator/generator.js";
import { loadGeneratorConfig, seqLen } from "../src/models/generator/config.js";
import { buildGeneratorTrainingGraph } from "../src/models/generator/objective.js";
import { countFlops } from "./flops.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export function uniformImages(shape: number[], seed: number): HostTensor {
  const rng = new Rng(seed);
  const data = new Float32Array(shapeSize(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform();
  return new HostTensor("float32", shape, data);
}

export function randomIds(shape: number[], vocab: number, seed: number): HostTensor {
  const rng = new Rng(seed);
  const data = new BigInt64Array(shapeSize(shape));
  for (let i = 0; i < data.length; i++) data[i] = BigInt(Math.min(vocab - 1, Math.floor(rng.uniform() * vocab)));
  return new HostTensor("int64", shape, data);
}

/** A compiled training step (`step()` runs it once) and its dense-product FLOPs. */
export interface TrainStep { step: () => Promise<unknown>; flops: number }

/** Loss and every trainable parameter gradient of `loss`'s graph, compiled; gradients land in preallocated buffers. */
export async function forwardBackward(loss: Tensor, params: ParamSource, feeds: Record<string, HostTensor>, session: SessionOptions): Promise<TrainStep> {
  const g = loss.graph;
  const keys = g.trainableKeys();
  const grads = grad(loss, keys.map((k) => g.params.get(k)!));
  const outputs: Record<string, Tensor> = { loss };
  grads.forEach((t, i) => { outputs[`grad.${keys[i]}`] = t; });
  const compiled = await CompiledGraph.create(g, outputs, session);
  const into = Object.fromEntries(Object.entries(outputs).map(([k, t]) => [k, HostTensor.zeros(t.dtype, t.staticShape())]));
  return { step: () => compiled.run(feeds, params, into), flops: countFlops(outputs).total };
}

/** The tokenizer's training step on `batch` random size x size images: 4 * L2 + quantizer loss (the official weights). */
export function tokenizerTrainStep(tok: Tokenizer, size: number, batch: number, session: SessionOptions): Promise<TrainStep> {
  const c = tok.config;
  const shape = [batch, c.numChannels, size, size];
  const g = new Graph();
  const x = g.input("x", "float32", shape);
  const f = buildTokenizerForward(x, c, { training: true });
  const loss = add(mul(reduceMean(square(sub(x, f.xHat))), 4), f.losses.quantizerLoss);
  return forwardBackward(loss, tok.params, { x: uniformImages(shape, 2) }, session);
}

/** The generator's training step (masked-bit cross-entropy, the config's dropout) on random ids and labels. */
export function generatorTrainStep(gen: Generator, batch: number, session: SessionOptions): Promise<TrainStep> {
  const cfg = gen.config;
  const t = buildGeneratorTrainingGraph(cfg, batch);
  const feeds = { ids: randomIds([batch, seqLen(cfg)], 2 ** cfg.tokenBits, 3), labels: randomIds([batch], cfg.numClasses, 4), seed: HostTensor.scalar(7, "int64") };
  return forwardBackward(t.loss, gen.params, feeds, session);
}

export interface FmnistModels { tokenizer: Tokenizer; generator: Generator; source: string }

/** The shipped Fashion-MNIST models in `dir`, else random weights from configs/fmnist_*.yaml. */
export async function fmnistModels(dir: string, session: SessionOptions): Promise<FmnistModels> {
  const tokFile = join(dir, "tokenizer.safetensors"), genFile = join(dir, "generator.safetensors");
  if (existsSync(tokFile) && existsSync(genFile)) {
    return { tokenizer: await Tokenizer.load(tokFile, { session }), generator: await Generator.load(genFile, { session }), source: `shipped weights (${dir})` };
  }
  const tc = loadTokenizerConfig(join(ROOT, "configs/fmnist_tokenizer.yaml"));
  const gc = loadGeneratorConfig(join(ROOT, "configs/fmnist_generator.yaml"));
  return { tokenizer: Tokenizer.random(tc, 1, session), generator: Generator.random(gc, 2, session), source: "random weights from configs/fmnist_*.yaml (no shipped models)" };
}
