// Reading a model file for inference from any byte source (path, URL, Response, Blob, bytes): a
// .safetensors whose config travels as JSON in __metadata__["config"], or a torch.save checkpoint
// (which carries none, so the caller supplies it). The format is recognised from the bytes, not
// the name. Tokenizer.load and Generator.load share this; each says how to parse its config and
// which differences between the stored and a given config are allowed.

import type { HostTensor } from "../engine/host-tensor.js";
import { CheckpointError, ConfigError } from "../engine/errors.js";
import { readSafetensors, type SafetensorsLimits } from "./safetensors.js";
import { readTorchCheckpoint, type TorchLimits } from "./torch-checkpoint.js";
import { describeSource, readBytes, type ByteSource, type ReadOptions } from "./source.js";

/** Metadata key of the model config (JSON) in maskbit's model files. */
export const CONFIG_METADATA_KEY = "config";

export interface ModelConfigCodec<C> {
  /** "Tokenizer.load", ... for error messages. */
  readonly op: string;
  readonly fromJson: (text: string, where: string) => C;
  readonly toJson: (c: C) => string;
  /** Whether weights stored with `stored` may be used under `given`. */
  readonly compatible: (stored: C, given: C) => boolean;
}

export interface ModelFile<C> {
  readonly config: C;
  readonly state: ReadonlyMap<string, HostTensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * Reader limits for a model file: the safetensors fields apply to .safetensors files, the torch
 * (zip + pickle) fields to torch.save checkpoints; anything left out keeps the reader's default
 * (DEFAULT_SAFETENSORS_LIMITS, DEFAULT_TORCH_LIMITS). Raise a limit only for a trusted file.
 */
export type ModelFileLimits = Partial<SafetensorsLimits> & Partial<TorchLimits>;

const isZip = (b: Uint8Array) => b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;

export async function readModelFile<C>(source: ByteSource, given: C | undefined, codec: ModelConfigCodec<C>, o: ReadOptions = {}, limits: ModelFileLimits = {}): Promise<ModelFile<C>> {
  const name = describeSource(source);
  const bytes = await readBytes(source, o);
  return decodeModelFile(bytes, name, given, codec, limits);
}

export function decodeModelFile<C>(bytes: Uint8Array, name: string, given: C | undefined, codec: ModelConfigCodec<C>, limits: ModelFileLimits = {}): ModelFile<C> {
  if (isZip(bytes)) {
    if (!given) {
      throw new ConfigError({ op: codec.op, scope: name, expected: "opts.config (a config object, the official YAML path or its text)", got: "nothing", hint: "torch.save checkpoints carry no config" });
    }
    return { config: given, state: readTorchCheckpoint(bytes, name, { limits }), metadata: {} };
  }
  const file = readSafetensors(bytes, name, { limits });
  const stored = file.metadata[CONFIG_METADATA_KEY];
  const fromFile = stored === undefined ? undefined : codec.fromJson(stored, `${name}:__metadata__.${CONFIG_METADATA_KEY}`);
  if (fromFile && given && !codec.compatible(fromFile, given)) {
    throw new CheckpointError({ op: codec.op, scope: name, expected: `the config stored in the file ${stored}`, got: codec.toJson(given), hint: "omit opts.config to use the file's own" });
  }
  const config = given ?? fromFile;
  if (!config) throw new ConfigError({ op: codec.op, scope: name, expected: `a "${CONFIG_METADATA_KEY}" metadata entry or opts.config`, got: "neither" });
  return { config, state: file.tensors, metadata: file.metadata };
}
