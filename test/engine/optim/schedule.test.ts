// Scalar schedules against the `schedules` golden case (official code's values).

import { test } from "node:test";
import assert from "node:assert/strict";
import { cosineWithMinimum, emaDecay, entropyAnnealExtra } from "../../../src/engine/optim/schedule.js";
import { join } from "node:path";
import { readSafetensors } from "../../../src/io/safetensors.js";
import { assertClose } from "./helpers.js";

const GOLDEN = join(import.meta.dirname, "../../../../shared/golden/schedules/tensors.safetensors");
const golden = readSafetensors(GOLDEN).tensors;
const t = (name: string) => {
  const v = golden.get(name);
  assert.ok(v, `golden tensor ${name}`);
  return v.toNumbers();
};
// case.json tolerance
const ATOL = 1e-7, RTOL = 1e-6;

test("cosineWithMinimum matches the golden lr values (warmup, cosine, floor)", () => {
  const cfg = { baseLr: 1e-4, warmup: 5000, total: 100000, minimumRate: 0.1 };
  const steps = t("lr_steps");
  assertClose(steps.map((s) => cosineWithMinimum(cfg, s)), t("lr"), ATOL, RTOL, "lr");
  assert.equal(cosineWithMinimum(cfg, 0), 0);
  assert.equal(cosineWithMinimum(cfg, 5000), 1e-4);
  assert.ok(Math.abs(cosineWithMinimum(cfg, 100000) - 1e-5) < 1e-18);
});

test("emaDecay matches the golden EMA decays (first update copies)", () => {
  const counts = t("ema_update_count");
  assertClose(counts.map((n) => emaDecay(n, 0.999)), t("ema_decay"), ATOL, RTOL, "ema_decay");
  assert.equal(emaDecay(1, 0.999), 0);
  assert.equal(emaDecay(2, 0.999), 2 / 11);
});

test("entropyAnnealExtra matches the golden annealing multipliers", () => {
  const cfg = { steps: 2000, factor: 2.0 };
  const steps = t("anneal_steps");
  const extra = steps.map((s) => entropyAnnealExtra(s, cfg));
  assertClose(extra, t("entropy_anneal_extra"), ATOL, RTOL, "entropy_anneal_extra");
  assertClose(extra.map((e) => 1 + e), t("entropy_effective_multiplier"), ATOL, RTOL, "entropy_effective_multiplier");
  assert.equal(entropyAnnealExtra(100, { steps: 2000, factor: 0 }), 0);
});
