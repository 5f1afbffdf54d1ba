// The Stage I training objective's settings (official YAML `losses` section, spec 2.6) and the
// step-dependent factors a trainer feeds into the loss graphs each step.

import { ConfigError } from "../../engine/errors.js";
import { field, type ConfigObject } from "../../config/yaml.js";

export type AdversarialLoss = "hinge" | "vanilla" | "non-saturating";
/**
 * "small_classifier" (logit MSE on the project's small classifier) and "small_classifier_lpips"
 * (LPIPS-style distance of its channel-normalised stage outputs, lpips-loss.ts) are this project's
 * additions for small grayscale datasets (no official counterpart).
 */
export type PerceptualNetName = "resnet50" | "small_classifier" | "small_classifier_lpips";
export const PERCEPTUAL_NET_NAMES: readonly PerceptualNetName[] = ["resnet50", "small_classifier", "small_classifier_lpips"];

export interface LossConfig {
  readonly reconstructionLoss: "l2" | "l1";
  readonly reconstructionWeight: number;
  readonly quantizerWeight: number;
  readonly perceptualLoss: PerceptualNetName;
  readonly perceptualWeight: number;
  /** MSE of logits only (true), or MSE of the last feature map plus MSE of logits (false); not used by the LPIPS-style loss. */
  readonly perceptualLossOnLogits: boolean;
  /** Global step at which the adversarial terms switch on and the discriminator starts training. */
  readonly discriminatorStart: number;
  readonly discriminatorLoss: AdversarialLoss;
  /** Multiplier of the adversarial terms once step >= discriminatorStart (0 before). */
  readonly discriminatorFactor: number;
  /** Fixed weight of the generator's adversarial term (the adaptive VQGAN weight is not implemented). */
  readonly discriminatorWeight: number;
  /** Kept for config round-trips; only used by the (unimplemented) adaptive-weight penalty. */
  readonly discriminatorPenaltyCost: number;
  readonly lecamRegularizationWeight: number;
  /** Decay of the LeCam EMAs of the mean real / fake logits. */
  readonly emaDecay: number;
  readonly entropyAnnealingSteps: number;
  /** Extra entropy-loss weight at step 0, decaying linearly to 0 at entropyAnnealingSteps. */
  readonly entropyAnnealingFactor: number;
}

/** `losses` of the released LFQ tokenizer configs (maskbit_tokenizer_*bit.yaml). */
export const lossOfficial: LossConfig = {
  reconstructionLoss: "l2",
  reconstructionWeight: 4.0,
  quantizerWeight: 1.0,
  perceptualLoss: "resnet50",
  perceptualWeight: 0.1,
  perceptualLossOnLogits: true,
  discriminatorStart: 20_000,
  discriminatorLoss: "hinge",
  discriminatorFactor: 1.0,
  discriminatorWeight: 0.02,
  discriminatorPenaltyCost: 10.0,
  lecamRegularizationWeight: 0.001,
  emaDecay: 0.999,
  entropyAnnealingSteps: 2000,
  entropyAnnealingFactor: 2.0,
};

const KEYS = [
  "quantizer_weight", "perceptual_loss", "perceptual_weight", "perceptual_loss_on_logits", "reconstruction_loss",
  "reconstruction_weight", "discriminator_start", "discriminator_loss", "discriminator_factor", "discriminator_weight",
  "discriminator_gradient_penalty", "discriminator_penalty_cost", "lecam_regularization_weight", "ema_decay",
  "entropy_annealing_steps", "entropy_annealing_factor",
];

function oneOf<T extends string>(value: string, allowed: readonly T[], scope: string, hint?: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError({ op: "parseLossConfig", scope, expected: `one of ${allowed.map((a) => `"${a}"`).join(", ")}`, got: JSON.stringify(value), hint });
  }
  return value as T;
}

/**
 * Parses the official YAML `losses` section. Defaults follow the official loss module where the
 * YAML may omit a key (reconstruction_weight 1, ema_decay 0.999, entropy annealing off).
 */
export function parseLossConfig(section: ConfigObject, path = "losses"): LossConfig {
  const unknown = Object.keys(section).filter((k) => !KEYS.includes(k));
  if (unknown.length) throw new ConfigError({ op: "parseLossConfig", scope: path, expected: `keys among ${KEYS.join(", ")}`, got: unknown.join(", ") });
  const at = (k: string) => `${path}.${k}`;
  oneOf(field.string(section, "discriminator_gradient_penalty", path, "none"), ["none"] as const, at("discriminator_gradient_penalty"),
    'the adaptive "adopt_weight" penalty is not implemented (every released config uses "none")');
  const cfg: LossConfig = {
    reconstructionLoss: oneOf(field.string(section, "reconstruction_loss", path), ["l2", "l1"] as const, at("reconstruction_loss")),
    reconstructionWeight: field.number(section, "reconstruction_weight", path, 1.0),
    quantizerWeight: field.number(section, "quantizer_weight", path),
    perceptualLoss: oneOf(field.string(section, "perceptual_loss", path), PERCEPTUAL_NET_NAMES, at("perceptual_loss"),
      '"lpips" and "convnext_s" are not implemented'),
    perceptualWeight: field.number(section, "perceptual_weight", path),
    perceptualLossOnLogits: field.bool(section, "perceptual_loss_on_logits", path, true),
    discriminatorStart: field.int(section, "discriminator_start", path),
    discriminatorLoss: oneOf(field.string(section, "discriminator_loss", path), ["hinge", "vanilla", "non-saturating"] as const, at("discriminator_loss")),
    discriminatorFactor: field.number(section, "discriminator_factor", path),
    discriminatorWeight: field.number(section, "discriminator_weight", path),
    discriminatorPenaltyCost: field.number(section, "discriminator_penalty_cost", path, 10.0),
    lecamRegularizationWeight: field.number(section, "lecam_regularization_weight", path),
    emaDecay: field.number(section, "ema_decay", path, 0.999),
    entropyAnnealingSteps: field.int(section, "entropy_annealing_steps", path, 2000),
    entropyAnnealingFactor: field.number(section, "entropy_annealing_factor", path, 0.0),
  };
  if (cfg.entropyAnnealingFactor > 0 && cfg.entropyAnnealingSteps <= 0) {
    throw new ConfigError({ op: "parseLossConfig", scope: at("entropy_annealing_steps"), expected: "a positive step count when entropy_annealing_factor > 0", got: String(cfg.entropyAnnealingSteps) });
  }
  return cfg;
}

/** The discriminator (and the generator's adversarial term) is active from discriminatorStart on. */
export const shouldTrainDiscriminator = (cfg: LossConfig, step: number): boolean => step >= cfg.discriminatorStart;

/** Multiplier of the adversarial terms at `step`: 0 before discriminatorStart, discriminatorFactor after. */
export const discriminatorFactorAt = (cfg: LossConfig, step: number): number => (shouldTrainDiscriminator(cfg, step) ? cfg.discriminatorFactor : 0);

/** Extra entropy-loss multiplier at `step`: max(0, 1 - step / steps) * factor (0 when annealing is off). */
export function entropyAnnealingAt(cfg: LossConfig, step: number): number {
  if (cfg.entropyAnnealingFactor <= 0) return 0;
  return Math.max(0, 1 - step / cfg.entropyAnnealingSteps) * cfg.entropyAnnealingFactor;
}
