// Weights of the FID Inception-v3, loaded strictly under the official module keys.
//
// Which file: pytorch-fid's `pt_inception-2015-12-05-6726825d.pth` (the TF 2015-12-05 FID graph
// converted to PyTorch; torch-fidelity ships the same tensors as
// `weights-inception-2015-12-05-6726825d.pth`), converted once to safetensors:
//
//   python -c "import torch; from safetensors.torch import save_file; \
//     sd = torch.load('pt_inception-2015-12-05-6726825d.pth', map_location='cpu'); \
//     save_file({k: v.contiguous() for k, v in sd.items()}, 'pt_inception-2015-12-05.safetensors')"
//
// Expected content: 94 BasicConv2d blocks (conv.weight + bn.{weight,bias,running_mean,running_var})
// and fc.{weight [1008, 2048], bias [1008]}, all float32. `bn.num_batches_tracked` (int64 scalar)
// is accepted when present and ignored: files saved before PyTorch 0.4.1 do not have it, and eval
// BatchNorm never reads it.

import { existsSync } from "node:fs";
import { Graph, type ParamSpec } from "../engine/graph/tensor.js";
import type { HostTensor } from "../engine/host-tensor.js";
import { ParamStore } from "../engine/params.js";
import { CheckpointError, fmtShape } from "../engine/errors.js";
import { readSafetensors } from "../io/safetensors.js";
import { inceptionV3 } from "./inception.js";

const NBT = ".num_batches_tracked";

/** Every state-dict entry of the extractor (including the optional num_batches_tracked buffers). */
export function inceptionParamSpecs(): ParamSpec[] {
  const g = new Graph();
  inceptionV3(g.input("images", "uint8", ["B", 3, 299, 299]), { dtype: "float32", height: 299, width: 299, outputs: ["logits"] });
  return [...g.paramSpecs.values()];
}

/** Strict check of a state dict against the extractor's keys; returns the parameters the graph reads. */
export function inceptionWeightsFrom(source: ReadonlyMap<string, HostTensor>, what = "Inception weights"): ParamStore {
  const specs = inceptionParamSpecs();
  const required = specs.filter((s) => !s.key.endsWith(NBT));
  const optional = new Set(specs.filter((s) => s.key.endsWith(NBT)).map((s) => s.key));
  const problems: string[] = [];
  const kept = new Map<string, HostTensor>();
  for (const [key, t] of source) {
    if (!optional.has(key)) kept.set(key, t);
    else if (t.dtype !== "int64" || t.size !== 1) problems.push(`${key}: expected int64 scalar, found ${t.dtype}${fmtShape(t.shape)}`);
  }
  if (problems.length) {
    throw new CheckpointError({ op: "inceptionWeightsFrom", scope: what, expected: "int64 scalar num_batches_tracked buffers", got: problems.join("; ") });
  }
  return ParamStore.loadStrict(required, kept, what);
}

/** Reads and strictly checks the Inception weights file; a missing path names the CLI flag. */
export function loadInceptionWeights(path: string | undefined): ParamStore {
  if (!path || !existsSync(path)) {
    throw new CheckpointError({
      op: "loadInceptionWeights",
      expected: "a safetensors file with the pt_inception-2015-12-05 weights",
      got: `no Inception weights: pass --inception <file>${path ? ` (nothing at "${path}")` : ""}`,
      hint: "convert pt_inception-2015-12-05-6726825d.pth as described in src/eval/inception-weights.ts",
    });
  }
  return inceptionWeightsFrom(readSafetensors(path).tensors, path);
}
