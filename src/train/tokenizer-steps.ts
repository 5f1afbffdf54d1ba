// The two Stage I training graphs, wired from the model's builders (no math here):
//
//   autoencoder step: x -> encoder -> LFQ -> decoder -> x̂; L_G from losses.ts, with the entropy
//                     annealing and the discriminator factor as fed scalars. With `withGan` the
//                     frozen discriminator scores x̂ and its hinge term joins L_G.
//   discriminator step: L_D on (x, stopgrad(x̂)) with the LeCam EMAs fed in and returned updated.
//
// x̂ is an output of the autoencoder step and an input of the discriminator step, so the
// discriminator sees exactly the reconstructions of the step (as the official loop) without a
// second decoder pass. Batch sizes are static: the loader drops the last partial batch.

import { Graph, type Tensor } from "../engine/graph/tensor.js";
import { buildTokenizerForward } from "../models/tokenizer/forward.js";
import { discriminatorLoss, generatorLoss } from "../models/tokenizer/losses.js";
import type { PerceptualNet } from "../models/perceptual/perceptual-loss.js";
import type { TokenizerRecipe } from "./tokenizer-recipe.js";

/** Graph-input names the trainer feeds. */
export const AE_FEEDS = { x: "x", entropyAnnealing: "entropy_annealing", discriminatorFactor: "discriminator_factor" } as const;
export const D_FEEDS = { real: "real", fake: "fake", emaReal: "lecam_ema_real", emaFake: "lecam_ema_fake" } as const;
/** Extra outputs that are not logged scalars. */
export const X_HAT = "x_hat";
export const EMA_REAL_OUT = "lecam_ema_real_next";
export const EMA_FAKE_OUT = "lecam_ema_fake_next";

export interface StepGraph {
  readonly graph: Graph;
  readonly loss: Tensor;
  /** Scalars to log (official names) plus the non-scalar extras above. */
  readonly outputs: Record<string, Tensor>;
}

function imageShape(r: TokenizerRecipe): [number, number, number, number] {
  const s = r.dataset.resolution;
  return [r.training.batchSize, r.tokenizer.numChannels, s, s];
}

export function buildAutoencoderStep(r: TokenizerRecipe, withGan: boolean, perceptual?: PerceptualNet): StepGraph {
  const g = new Graph();
  const x = g.input(AE_FEEDS.x, "float32", imageShape(r));
  // Exactly one annealing mechanism: the loss's entropyAnnealing input (the quantizer gets none).
  const annealing = g.input(AE_FEEDS.entropyAnnealing, "float32", []);
  const factor = withGan ? g.input(AE_FEEDS.discriminatorFactor, "float32", []) : undefined;
  const f = buildTokenizerForward(x, r.tokenizer, { training: true });
  const terms = generatorLoss(
    r.losses,
    { x, xHat: f.xHat, quantizerLoss: f.losses.quantizerLoss, entropyLoss: f.losses.entropyLoss, entropyAnnealing: annealing, ...(factor ? { discriminatorFactor: factor } : {}) },
    { ...(perceptual ? { perceptual } : {}), ...(withGan ? { discriminator: r.discriminator } : {}) },
  );
  const { total_loss: loss, ...rest } = terms;
  const outputs: Record<string, Tensor> = {
    ...rest,
    commitment_loss: f.losses.commitmentLoss,
    entropy_loss: f.losses.entropyLoss,
    per_sample_entropy: f.losses.perSampleEntropy,
    avg_entropy: f.losses.avgEntropy,
    [X_HAT]: f.xHat,
  };
  if (!withGan) {
    delete outputs.gan_loss;
    delete outputs.weighted_gan_loss;
  }
  return { graph: g, loss, outputs };
}

export function buildDiscriminatorStep(r: TokenizerRecipe): StepGraph {
  const g = new Graph();
  const shape = imageShape(r);
  const real = g.input(D_FEEDS.real, "float32", shape);
  const fake = g.input(D_FEEDS.fake, "float32", shape);
  const emaReal = g.input(D_FEEDS.emaReal, "float32", []);
  const emaFake = g.input(D_FEEDS.emaFake, "float32", []);
  const d = discriminatorLoss(r.losses, r.discriminator, { real, fake, emaReal, emaFake });
  const { discriminator_loss: loss, ...terms } = d.terms;
  const outputs: Record<string, Tensor> = { ...terms };
  // Without LeCam the EMAs pass through unchanged and are not fetched.
  if (r.losses.lecamRegularizationWeight > 0) {
    outputs[EMA_REAL_OUT] = d.emaRealOut;
    outputs[EMA_FAKE_OUT] = d.emaFakeOut;
  }
  return { graph: g, loss, outputs };
}
