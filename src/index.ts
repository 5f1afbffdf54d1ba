// maskbit's public API: the two stages of the paper's figure, their configs, and the engine
// beneath them for those who want to build graphs of their own.

export { Tokenizer, type EncodeOptions, type EncodeResult } from "./models/tokenizer/tokenizer.js";
export * as tokenizerConfig from "./models/tokenizer/config.js";
export { Generator, type LogitsRequest } from "./models/generator/generator.js";
export * as generatorConfig from "./models/generator/config.js";
export { HostTensor } from "./engine/host-tensor.js";
export { Graph, type Tensor } from "./engine/graph/tensor.js";
export { CompiledGraph, type SessionOptions } from "./engine/runtime/session.js";
export { grad, valueAndGrad } from "./engine/autodiff/grad.js";
export { ParamStore } from "./engine/params.js";
export * as ops from "./engine/ops/index.js";
export * as nn from "./engine/nn/index.js";
export * from "./engine/errors.js";
export { readSafetensors, writeSafetensors } from "./io/safetensors.js";
export { readTorchCheckpoint } from "./io/torch-checkpoint.js";
export { encodeTorchCheckpoint } from "./io/torch-writer.js";
export { encodeNpzParts, imagesToAdmBatch } from "./io/npz.js";
