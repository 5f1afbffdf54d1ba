// Scalar training schedules of the official recipe (spec 2.5, 2.8, 3.4). They are plain JS numbers:
// each yields one value per step that is fed to the training graph as a scalar input.

export interface CosineWithMinimumConfig {
  readonly baseLr: number;
  /** Linear warmup length in optimizer steps (0: no warmup). */
  readonly warmup: number;
  /** Total number of steps; the cosine reaches its floor here. */
  readonly total: number;
  /** Floor as a fraction of baseLr (official: 0.1). */
  readonly minimumRate?: number;
}

/**
 * The "cosine_with_minimum" learning rate at `step` (0-based count of optimizer steps already taken,
 * as the official LambdaLR sees it). Warmup: base * step / warmup, so the very first update uses lr 0,
 * as in the official run. Then c = 0.5 * (1 + cos(pi * progress)) and lr = base * (c + m - m * c),
 * i.e. a cosine from base down to m * base.
 */
export function cosineWithMinimum(cfg: CosineWithMinimumConfig, step: number): number {
  const m = cfg.minimumRate ?? 0.1;
  if (step < cfg.warmup) return (cfg.baseLr * step) / cfg.warmup;
  const progress = (step - cfg.warmup) / Math.max(1, cfg.total - cfg.warmup);
  const c = 0.5 * (1 + Math.cos(Math.PI * progress));
  return cfg.baseLr * (c + m - m * c);
}

/**
 * Decay used for the n-th EMA update (n is 1-based): with s = n - 1, 0 when s <= 0 (the first update
 * copies the weights) else min(decay, (1 + s) / (10 + s)). The update itself is
 * shadow <- shadow - (1 - decay) * (shadow - param).
 */
export function emaDecay(updateCount: number, decay: number): number {
  const s = updateCount - 1;
  if (s <= 0) return 0;
  return Math.min(decay, (1 + s) / (10 + s));
}

export interface EntropyAnnealConfig {
  /** Official LFQ configs: 2000. */
  readonly steps: number;
  /** Official LFQ configs: 2.0 (VQ configs: 0, i.e. no annealing). */
  readonly factor: number;
}

/**
 * Extra multiple of the (already weighted) entropy loss added during tokenizer training:
 * max(0, 1 - step / steps) * factor. The effective multiplier of the entropy term is 1 + this.
 * (The official module evaluates this in float32; the float64 value differs by < 1e-10.)
 */
export function entropyAnnealExtra(step: number, cfg: EntropyAnnealConfig): number {
  if (cfg.factor === 0 || cfg.steps <= 0) return 0;
  return Math.max(0, 1 - step / cfg.steps) * cfg.factor;
}
