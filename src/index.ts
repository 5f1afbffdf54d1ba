// maskbit's public API, the same on every platform: the two stages of the paper's figure, their
// configs, image and model I/O, and the engine beneath them for those who want to build graphs of
// their own. The platform entry points (node.ts, browser.ts) re-export this after installing
// their ONNX Runtime and platform services; import "maskbit", not this file.

export { Tokenizer, MAX_PIXELS_PER_RUN, type TokenizerSource, type TokenizerLoadOptions, type EncodeResult, type EncodeOptions, type DecodeOptions } from "./models/tokenizer/tokenizer.js";
export * as tokenizerConfig from "./models/tokenizer/config.js";
export { Generator, type GeneratorSource, type GeneratorLoadOptions, type SampleOptions, type GenerationResult, type LogitsRequest } from "./models/generator/generator.js";
export { MAX_BATCH_PER_CALL } from "./models/argument-checks.js";
export * as generatorConfig from "./models/generator/config.js";
export { SHIPPED_MODELS, type ShippedModelName } from "./models/model-source.js";
export { exportOnnx, exportTokenizerEncoder, exportTokenizerDecoder, exportGeneratorStep, type OnnxFile, type OnnxExportOptions } from "./models/export-onnx.js";
export type { CompleteOptions, CompletionResult } from "./models/generator/edit.js";
export type { OutpaintOptions, OutpaintResult } from "./models/generator/outpaint.js";
export { groupMask, pixelMaskToTokenMask, regionTokenMask, tokenGridOf, widenMask, type PixelMaskOptions } from "./models/generator/token-mask.js";
export { clearBitPlane, editBitPlane, flipBitPlane, setBitPlane, type IdRegion } from "./models/tokenizer/bit-planes.js";
export { HostTensor } from "./engine/host-tensor.js";
export { Graph, type Tensor } from "./engine/graph/tensor.js";
export { CompiledGraph, type SessionOptions, type ExecutionProvider } from "./engine/runtime/session.js";
export { setOnnxRuntime, onnxRuntimeName, type OnnxRuntime } from "./engine/runtime/backend.js";
export { grad, valueAndGrad } from "./engine/autodiff/grad.js";
export { ParamStore } from "./engine/params.js";
export * as ops from "./engine/ops/index.js";
export * as nn from "./engine/nn/index.js";
export * from "./engine/errors.js";
export { readSafetensors, encodeSafetensors, writeSafetensors } from "./io/safetensors.js";
export { readTorchCheckpoint } from "./io/torch-checkpoint.js";
export { readBytes, type ByteSource, type LoadProgress, type ReadOptions } from "./io/source.js";
export { setPlatform, platform, type Platform, type FileSystem } from "./io/platform.js";
export { imageInputToTensor, toPng, toRgba, type ImageInput } from "./io/image-input.js";
export { decodePng, encodePngRgba } from "./io/png.js";
export { rgbaToTensor, tensorToRgba, type RgbaImage } from "./io/rgba.js";
export { encodeTorchCheckpoint } from "./io/torch-writer.js";
export { encodeNpzParts, imagesToAdmBatch } from "./io/npz.js";
