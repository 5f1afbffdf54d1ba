// The Stage I objectives (spec 2.6) as graph builders for the trainer's two steps:
//
//   generator step:      L_G = w_rec·rec(x, x̂) + w_perc·perc(x, x̂) + w_q·(L_quant + a(step)·L_entropy)
//                              + d_weight·f(step)·L_adv(D(x̂))          D frozen, gradient flows into x̂
//   discriminator step:  L_D = f·d_loss(D(x), D(sg(x̂))) + w_lecam·LeCam(mean D(x), mean D(x̂), EMAs)
//
// Step-dependent factors (a(step), f(step)) and the LeCam EMAs are graph inputs the trainer feeds,
// so one compiled session serves every step; the updated EMAs come back as outputs. Terms are
// returned under the official logging names.

import type { Tensor } from "../../engine/graph/tensor.js";
import { abs, add, exp, log, mul, neg, reduceMeanByAxis, relu, stopGradient, sub } from "../../engine/ops/index.js";
import { ConfigError, ShapeError, fmtShape } from "../../engine/errors.js";
import { discriminator, type DiscriminatorConfig } from "./discriminator.js";
import type { AdversarialLoss, LossConfig } from "./loss-config.js";
import { perceptualLoss, type PerceptualNet } from "../perceptual/perceptual-loss.js";
import { lpipsLoss } from "../perceptual/lpips-loss.js";

/** Parameter scopes inside the loss graphs, as in the official loss module's state dict. */
export const DISCRIMINATOR_SCOPE = "discriminator";
export const PERCEPTUAL_SCOPE = "perceptual_loss.model";

// Means over every pixel of a batch (50M values at 256x256 x 256 images), reduced axis by axis
// with long axes blocked, so the logged loss keeps float32 precision.
const mean = (t: Tensor): Tensor => reduceMeanByAxis(t, t.shape.map((_, i) => i));

/** log(1 + e^x) without overflow: relu(x) + log(1 + e^-|x|). */
const softplus = (x: Tensor): Tensor => add(relu(x), log(add(exp(neg(abs(x))), 1)));

/** Discriminator loss on real and fake logits (before the discriminator factor). */
export function discriminatorGanLoss(kind: AdversarialLoss, logitsReal: Tensor, logitsFake: Tensor): Tensor {
  switch (kind) {
    case "hinge": return mul(add(mean(relu(sub(1, logitsReal))), mean(relu(add(logitsFake, 1)))), 0.5);
    case "vanilla": return mul(add(mean(softplus(neg(logitsReal))), mean(softplus(logitsFake))), 0.5);
    // Sigmoid cross-entropy with labels 1 (real) and 0 (fake).
    case "non-saturating": return add(mean(softplus(neg(logitsReal))), mean(softplus(logitsFake)));
  }
}

/** Generator adversarial loss on fake logits: -mean(D(x̂)) for hinge and vanilla (as the official code), BCE otherwise. */
export function generatorGanLoss(kind: AdversarialLoss, logitsFake: Tensor): Tensor {
  return kind === "non-saturating" ? mean(softplus(neg(logitsFake))) : neg(mean(logitsFake));
}

/** LeCam regulariser: relu(mean D(x) - ema_fake)^2 + relu(ema_real - mean D(x̂))^2 (unweighted). */
export function lecamLoss(realMean: Tensor, fakeMean: Tensor, emaReal: Tensor, emaFake: Tensor): Tensor {
  const a = relu(sub(realMean, emaFake)), b = relu(sub(emaReal, fakeMean));
  return add(mul(a, a), mul(b, b));
}

export interface GeneratorLossInputs {
  /** Real images [B, C, H, W] in [0, 1]. */
  readonly x: Tensor;
  /** Decoder output, unclamped, same shape. */
  readonly xHat: Tensor;
  /** Quantizer loss (commitment + entropy), scalar. */
  readonly quantizerLoss: Tensor;
  /**
   * The entropy part of quantizerLoss and the scalar fed each step as entropyAnnealingAt(cfg, step);
   * the term annealing * entropyLoss is added here. Give both or neither: omit them when the
   * quantizer already folded the annealing into quantizerLoss (QuantizeOptions.entropyMultiplier).
   */
  readonly entropyLoss?: Tensor;
  readonly entropyAnnealing?: Tensor;
  /** Scalar fed each step: discriminatorFactorAt(cfg, step). Required with a discriminator. */
  readonly discriminatorFactor?: Tensor;
}

export interface GeneratorLossModels {
  /** Required when perceptualWeight > 0. */
  readonly perceptual?: PerceptualNet;
  /** Omit to leave the adversarial term out of the graph (steps before discriminatorStart). */
  readonly discriminator?: DiscriminatorConfig;
  readonly discriminatorScope?: string;
  readonly perceptualScope?: string;
}

export type GeneratorTerm = "total_loss" | "reconstruction_loss" | "perceptual_loss" | "quantizer_loss" | "gan_loss" | "weighted_gan_loss";

/** The weighted generator objective; every term is a scalar (weighted as the official logs report them, gan_loss raw). */
export function generatorLoss(cfg: LossConfig, inp: GeneratorLossInputs, models: GeneratorLossModels = {}): Record<GeneratorTerm, Tensor> {
  const { x, xHat } = inp;
  const g = x.graph;
  if (fmtShape(x.shape) !== fmtShape(xHat.shape)) {
    throw new ShapeError({ op: "generatorLoss", scope: g.scopePath, expected: "x and xHat of one shape", got: `${fmtShape(x.shape)} and ${fmtShape(xHat.shape)}` });
  }
  const diff = sub(x, xHat);
  const reconstruction = mul(mean(cfg.reconstructionLoss === "l1" ? abs(diff) : mul(diff, diff)), cfg.reconstructionWeight);

  let perceptual: Tensor = g.scalar(0);
  if (cfg.perceptualWeight !== 0) {
    if (models.perceptual?.name !== cfg.perceptualLoss) {
      throw new ConfigError({ op: "generatorLoss", expected: `the "${cfg.perceptualLoss}" perceptual network for perceptual_weight ${cfg.perceptualWeight}`, got: models.perceptual ? `"${models.perceptual.name}"` : "none" });
    }
    const scope = models.perceptualScope ?? PERCEPTUAL_SCOPE;
    const distance = cfg.perceptualLoss === "small_classifier_lpips"
      ? lpipsLoss(x, xHat, models.perceptual, { scope })
      : perceptualLoss(x, xHat, models.perceptual, { onLogits: cfg.perceptualLossOnLogits, scope }).loss;
    perceptual = mul(distance, cfg.perceptualWeight);
  }

  if ((inp.entropyLoss === undefined) !== (inp.entropyAnnealing === undefined)) {
    throw new ConfigError({ op: "generatorLoss", expected: "entropyLoss and entropyAnnealing together (or neither)", got: inp.entropyLoss ? "only entropyLoss" : "only entropyAnnealing" });
  }
  const annealed = inp.entropyLoss && inp.entropyAnnealing ? add(inp.quantizerLoss, mul(inp.entropyAnnealing, inp.entropyLoss)) : inp.quantizerLoss;
  const quantizer = mul(annealed, cfg.quantizerWeight);

  let gan: Tensor = g.scalar(0), weightedGan: Tensor = g.scalar(0);
  if (models.discriminator) {
    if (!inp.discriminatorFactor) throw new ConfigError({ op: "generatorLoss", expected: "a discriminatorFactor input alongside the discriminator", got: "none" });
    const cfgD = models.discriminator;
    const logitsFake = g.scope(models.discriminatorScope ?? DISCRIMINATOR_SCOPE, () => discriminator(xHat, cfgD, { frozen: true }));
    gan = generatorGanLoss(cfg.discriminatorLoss, logitsFake);
    weightedGan = mul(mul(gan, inp.discriminatorFactor), cfg.discriminatorWeight);
  }

  const total = add(add(add(reconstruction, perceptual), quantizer), weightedGan);
  return { total_loss: total, reconstruction_loss: reconstruction, perceptual_loss: perceptual, quantizer_loss: quantizer, gan_loss: gan, weighted_gan_loss: weightedGan };
}

export interface DiscriminatorLossInputs {
  readonly real: Tensor;
  /** Reconstructions; gradient is stopped here (only D trains in this step). */
  readonly fake: Tensor;
  /** LeCam EMAs of the mean real / fake logits (scalars), as after the previous D step. */
  readonly emaReal: Tensor;
  readonly emaFake: Tensor;
}

export interface DiscriminatorLossResult {
  /** Scalars: discriminator_loss (the total), d_gan_loss (factor applied), lecam_loss (weighted), lecam_loss_unweighted, logits_real, logits_fake (means). */
  readonly terms: Record<"discriminator_loss" | "d_gan_loss" | "lecam_loss" | "lecam_loss_unweighted" | "logits_real" | "logits_fake", Tensor>;
  /** EMAs after this step (decay·ema + (1-decay)·mean), computed from the logits of this step. */
  readonly emaRealOut: Tensor;
  readonly emaFakeOut: Tensor;
  readonly logitsReal: Tensor;
  readonly logitsFake: Tensor;
}

/**
 * The discriminator objective for steps >= discriminatorStart (when D is trained, the factor is
 * cfg.discriminatorFactor). Discriminator parameters are trainable under `scope`.
 */
export function discriminatorLoss(cfg: LossConfig, cfgD: DiscriminatorConfig, inp: DiscriminatorLossInputs, scope = DISCRIMINATOR_SCOPE): DiscriminatorLossResult {
  const g = inp.real.graph;
  const run = (t: Tensor) => (scope ? g.scope(scope, () => discriminator(t, cfgD)) : discriminator(t, cfgD));
  const logitsReal = run(inp.real);
  const logitsFake = run(stopGradient(inp.fake));
  const dGan = mul(discriminatorGanLoss(cfg.discriminatorLoss, logitsReal, logitsFake), cfg.discriminatorFactor);
  const realMean = mean(logitsReal), fakeMean = mean(logitsFake);

  let lecam: Tensor = g.scalar(0), lecamRaw: Tensor = g.scalar(0);
  let emaRealOut = inp.emaReal, emaFakeOut = inp.emaFake;
  if (cfg.lecamRegularizationWeight > 0) {
    lecamRaw = lecamLoss(realMean, fakeMean, inp.emaReal, inp.emaFake);
    lecam = mul(lecamRaw, cfg.lecamRegularizationWeight);
    const ema = (prev: Tensor, m: Tensor) => add(mul(prev, cfg.emaDecay), mul(stopGradient(m), 1 - cfg.emaDecay));
    emaRealOut = ema(inp.emaReal, realMean);
    emaFakeOut = ema(inp.emaFake, fakeMean);
  }
  const total = add(dGan, lecam);
  return {
    terms: { discriminator_loss: total, d_gan_loss: dGan, lecam_loss: lecam, lecam_loss_unweighted: lecamRaw, logits_real: realMean, logits_fake: fakeMean },
    emaRealOut, emaFakeOut, logitsReal, logitsFake,
  };
}
