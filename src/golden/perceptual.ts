// Golden kind "perceptual": the ResNet-50 logit perceptual loss with formula weights: resized and
// normalised inputs, both logit vectors and their MSE.

import { Graph, type Tensor } from "../engine/graph/tensor.js";
import { CompiledGraph } from "../engine/runtime/session.js";
import { reshape, slice } from "../engine/ops/index.js";
import { ConfigError } from "../engine/errors.js";
import { formulaWeights, type GoldenCase } from "../io/golden.js";
import { loadResNet50 } from "../models/perceptual/resnet50.js";
import { perceptualInput, perceptualLoss, resnet50Perceptual } from "../models/perceptual/perceptual-loss.js";
import { checkOutputs, type Check } from "./report.js";

export async function runPerceptualCase(c: GoldenCase): Promise<Check[]> {
  if (c.config.model_name !== "resnet50" || c.config.compute_perceptual_loss_on_logits !== true) {
    throw new ConfigError({ op: "golden perceptual", scope: c.name, expected: 'model_name "resnet50" on logits', got: JSON.stringify(c.config) });
  }
  const params = loadResNet50(formulaWeights(c.raw));
  const g = new Graph();
  const shape = c.tensors.get("x")!.shape;
  const x = g.input("x", "float32", shape), xHat = g.input("x_hat", "float32", shape);
  const r = perceptualLoss(x, xHat, resnet50Perceptual);
  const first = (t: Tensor) => {
    const v = perceptualInput(t, resnet50Perceptual);
    return reshape(slice(v, [0], [0], [1]), v.shape.slice(1));
  };
  const compiled = await CompiledGraph.create(g, {
    loss: r.loss, logits_x: r.logitsX, logits_x_hat: r.logitsXHat, x_224_norm_0: first(x), x_hat_224_norm_0: first(xHat),
  }, { threads: 2 });
  try {
    const out = await compiled.run({ x: c.tensors.get("x")!, x_hat: c.tensors.get("x_hat")! }, params);
    return checkOutputs(c, Object.fromEntries(c.outputs.map((n) => [n, out[n]!])));
  } finally {
    await compiled.dispose();
  }
}
