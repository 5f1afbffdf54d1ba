// maskbit's public API: the two stages of the paper's figure, their configs, and the engine
// beneath them for those who want to build graphs of their own.

export { Tokenizer } from "./models/tokenizer/tokenizer.js";
export * as tokenizerConfig from "./models/tokenizer/config.js";
export { Generator } from "./models/generator/generator.js";
export * as generatorConfig from "./models/generator/config.js";
export type { CompleteOptions, CompletionResult } from "./models/generator/edit.js";
export type { OutpaintOptions, OutpaintResult } from "./models/generator/outpaint.js";
export { groupMask, pixelMaskToTokenMask, regionTokenMask, tokenGridOf, widenMask, type PixelMaskOptions } from "./models/generator/token-mask.js";
export { clearBitPlane, editBitPlane, flipBitPlane, setBitPlane, type IdRegion } from "./models/tokenizer/bit-planes.js";
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
