// Golden kind "schedules": the per-step scalars of the official recipes. Generation: the masked
// count entering each step, k (slots re-masked) and the mask ratio for every step count T the case
// lists (masked_before_T<T>, ...), and the CFG ramp for every (T, pow) it lists (cfg_w_T<T>_pow<p>,
// "2p5" = 2.5). Training: the Bernoulli mask ratio for given draws, the cosine-with-minimum LR, the
// EMA decay per update and the entropy-loss annealing. Sizes and hyperparameters come from the
// case's config (S, lr, ema, entropy_annealing).

import { HostTensor } from "../engine/host-tensor.js";
import { ConfigError } from "../engine/errors.js";
import type { GoldenCase, Json, JsonObject } from "../io/golden.js";
import { cosineWithMinimum, emaDecay, entropyAnnealExtra } from "../engine/optim/schedule.js";
import { guidanceWeight, maskRatio, numToMask, trainMaskRatio } from "../models/generator/masking.js";
import type { GuidanceAnnealing, MaskSchedule } from "../models/generator/config.js";
import { checkOutputs, type Check } from "./report.js";

const section = (v: Json | undefined): JsonObject | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? v : undefined);

export async function runSchedulesCase(c: GoldenCase): Promise<Check[]> {
  const cfg = c.config;
  const failed: Check[] = [];
  const fail = (tensor: string, detail: string) => failed.push({ tensor, ok: false, worst: Infinity, detail });
  const num = (o: JsonObject, k: string, fallback?: number): number => {
    const v = o[k];
    if (typeof v === "number") return v;
    if (fallback !== undefined) return fallback;
    throw new ConfigError({ op: "golden schedules", scope: `${c.dir}: config.${k}`, expected: "a number", got: JSON.stringify(v) ?? "nothing" });
  };
  const str = <T extends string>(o: JsonObject, k: string, fallback: T): T => (typeof o[k] === "string" ? (o[k] as T) : fallback);
  const names = new Set([...c.outputs, ...c.tensors.keys()]);
  const got: Record<string, HostTensor> = {};

  // Generation: the official loop on S = tokens * groups slots, one trace per step count T.
  const slots = typeof cfg.S === "number" ? cfg.S : num(cfg, "tokens") * num(cfg, "groups");
  const genSchedule = str<MaskSchedule>(cfg, "mask_schedule_strategy", str<MaskSchedule>(cfg, "gen_mask_schedule_strategy", "arccos"));
  const stepCounts = new Set<number>();
  for (const n of names) {
    const m = /^(?:masked_before|num_to_mask|mask_ratio)_T(\d+)$/.exec(n);
    if (m) stepCounts.add(Number(m[1]));
  }
  for (const steps of stepCounts) {
    const ratios: number[] = [], ks: number[] = [], before: number[] = [];
    let masked = slots;
    for (let i = 0; i < steps; i++) {
      before.push(masked);
      ratios.push(maskRatio(i, steps, genSchedule));
      masked = numToMask(i, steps, masked, slots, genSchedule);
      ks.push(masked);
    }
    got[`masked_before_T${steps}`] = HostTensor.i64(before);
    got[`num_to_mask_T${steps}`] = HostTensor.i64(ks);
    got[`mask_ratio_T${steps}`] = HostTensor.f32(ratios);
  }

  // CFG ramp w_i for i = 0..T-1 (multiplied by the guidance scale in the loop).
  const annealing = str<GuidanceAnnealing>(cfg, "guidance_annealing", "cosine");
  for (const n of names) {
    const m = /^cfg_w_T(\d+)_pow(\d+)(?:p(\d+))?$/.exec(n);
    if (!m) continue;
    const steps = Number(m[1]), pow = Number(`${m[2]}.${m[3] ?? "0"}`);
    got[n] = HostTensor.f32(Array.from({ length: steps }, (_, i) => guidanceWeight(i, steps, annealing, pow)));
  }

  // Training mask ratio for per-sample draws r.
  const trainR = c.tensors.get("train_r");
  if (trainR) {
    const schedule = str<MaskSchedule>(cfg, "train_mask_schedule_strategy", "arccos");
    got.train_mask_ratio = HostTensor.f32(trainR.toNumbers().map((r) => trainMaskRatio(r, schedule)));
  }

  const lr = section(cfg.lr), lrSteps = c.tensors.get("lr_steps");
  if (lr && lrSteps) {
    const name = str(lr, "name", "cosine_with_minimum");
    if (name !== "cosine_with_minimum") fail("lr", `lr schedule "${name}" is not implemented (cosine_with_minimum is)`);
    else {
      const lrCfg = { baseLr: num(lr, "base_lr"), warmup: num(lr, "warmup", 0), total: num(lr, "total"), minimumRate: num(lr, "minimum_rate", 0.1) };
      got.lr = HostTensor.f64(lrSteps.toNumbers().map((s) => cosineWithMinimum(lrCfg, s)));
    }
  }

  const ema = section(cfg.ema), emaCounts = c.tensors.get("ema_update_count");
  if (ema && emaCounts) {
    if (num(ema, "update_after_step", 0) !== 0 || ema.use_ema_warmup === true) {
      fail("ema_decay", `EMA with update_after_step ${JSON.stringify(ema.update_after_step)} / use_ema_warmup ${JSON.stringify(ema.use_ema_warmup)} is not implemented`);
    } else {
      const decay = num(ema, "decay");
      got.ema_decay = HostTensor.f64(emaCounts.toNumbers().map((n) => emaDecay(n, decay)));
    }
  }

  const anneal = section(cfg.entropy_annealing), annealSteps = c.tensors.get("anneal_steps");
  if (anneal && annealSteps) {
    const annealCfg = { steps: num(anneal, "steps"), factor: num(anneal, "factor") };
    const extra = annealSteps.toNumbers().map((s) => entropyAnnealExtra(s, annealCfg));
    got.entropy_anneal_extra = HostTensor.f64(extra);
    got.entropy_effective_multiplier = HostTensor.f64(extra.map((e) => 1 + e));
  }

  const wanted = Object.fromEntries(Object.entries(got).filter(([k]) => c.outputs.includes(k)));
  const missing = c.outputs.filter((n) => !(n in wanted) && !failed.some((k) => k.tensor === n))
    .map((n): Check => ({ tensor: n, ok: false, worst: Infinity, detail: "not produced by maskbit" }));
  return [...checkOutputs(c, wanted), ...failed, ...missing];
}
