// An independent host implementation of PyTorch's single-tensor torch.optim.AdamW step,
// clip_grad_norm_ and the EMA update, in float32 arithmetic (Math.fround after every operation, with
// Python-float scalars rounded to float32 where PyTorch applies them to float32 tensors).

const f = Math.fround;

export interface RefAdamW { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number }

export interface RefState { p: Float32Array; m: Float32Array; v: Float32Array }

/** clip_grad_norm_ in place; returns the pre-clipping total norm. */
export function refClip(grads: Float32Array[], maxNorm: number | undefined): number {
  let sq = 0;
  for (const g of grads) for (const x of g) sq += x * x;
  const total = f(Math.sqrt(sq));
  if (maxNorm === undefined) return total;
  const coef = Math.min(f(f(maxNorm) / f(total + f(1e-6))), 1);
  for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = f(g[i]! * coef);
  return total;
}

/** One AdamW step at 1-based step t, in place. */
export function refAdamW(s: RefState, g: Float32Array, t: number, c: RefAdamW): void {
  const decay = f(1 - c.lr * c.weightDecay);
  const w1 = f(1 - c.beta1), b2 = f(c.beta2), w2 = f(1 - c.beta2);
  const stepSize = f(c.lr / (1 - c.beta1 ** t));
  const bc2Sqrt = f(Math.sqrt(1 - c.beta2 ** t));
  const eps = f(c.eps);
  for (let i = 0; i < g.length; i++) {
    const p = f(s.p[i]! * decay);
    const m = f(s.m[i]! + f(w1 * f(g[i]! - s.m[i]!)));
    const v = f(f(s.v[i]! * b2) + f(f(w2 * g[i]!) * g[i]!));
    const denom = f(f(f(Math.sqrt(v)) / bc2Sqrt) + eps);
    s.p[i] = f(p - f(stepSize * f(m / denom)));
    s.m[i] = m;
    s.v[i] = v;
  }
}

/** shadow <- shadow - (1 - decay) * (shadow - param), in place. */
export function refEma(shadow: Float32Array, p: Float32Array, decay: number): void {
  const r = f(1 - decay);
  for (let i = 0; i < p.length; i++) shadow[i] = f(shadow[i]! - f(r * f(shadow[i]! - p[i]!)));
}
