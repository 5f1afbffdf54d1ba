// Golden kind "discriminator": logits, hinge + LeCam losses, EMA updates and the gradient of the
// discriminator loss for every discriminator parameter, for whatever config the case names.

import { Graph, type Tensor } from "../engine/graph/tensor.js";
import { CompiledGraph } from "../engine/runtime/session.js";
import { ParamStore } from "../engine/params.js";
import { grad } from "../engine/autodiff/grad.js";
import type { GoldenCase } from "../io/golden.js";
import type { ConfigObject } from "../config/yaml.js";
import { parseDiscriminatorConfig } from "../models/tokenizer/discriminator.js";
import { discriminatorLoss, generatorGanLoss } from "../models/tokenizer/losses.js";
import { lossOfficial, type LossConfig } from "../models/tokenizer/loss-config.js";
import { checkOutputs, type Check } from "./report.js";

export async function runDiscriminatorCase(c: GoldenCase): Promise<Check[]> {
  const cfgD = parseDiscriminatorConfig(c.config.discriminator as ConfigObject, "config.discriminator");
  const cfgL = lossFromCase(c.config.losses as ConfigObject | undefined);
  const g = new Graph();
  const shape = c.tensors.get("real")!.shape;
  const real = g.input("real", "float32", shape), fake = g.input("fake", "float32", shape);
  const emaReal = g.input("ema_real_in", "float32", []), emaFake = g.input("ema_fake_in", "float32", []);
  // Root scope: fixture weights carry the bare discriminator keys.
  const r = discriminatorLoss(cfgL, cfgD, { real, fake, emaReal, emaFake }, "");
  const keys = g.trainableKeys();
  const grads = grad(r.terms.discriminator_loss, keys.map((k) => g.params.get(k)!));
  const outputs: Record<string, Tensor> = {
    logits_real: r.logitsReal, logits_fake: r.logitsFake,
    d_hinge_loss: r.terms.d_gan_loss, lecam_loss: r.terms.lecam_loss_unweighted, lecam_loss_weighted: r.terms.lecam_loss,
    d_total_loss: r.terms.discriminator_loss, g_adv_loss: generatorGanLoss(cfgL.discriminatorLoss, r.logitsFake),
    ema_real_out: r.emaRealOut, ema_fake_out: r.emaFakeOut,
  };
  keys.forEach((k, i) => (outputs[`grad.${k}`] = grads[i]!));
  const wanted = Object.fromEntries(Object.entries(outputs).filter(([k]) => c.outputs.includes(k)));
  const compiled = await CompiledGraph.create(g, wanted, { threads: 2 });
  try {
    const out = await compiled.run({
      real: c.tensors.get("real")!, fake: c.tensors.get("fake")!,
      ema_real_in: c.tensors.get("ema_real_in")!.reshape([]), ema_fake_in: c.tensors.get("ema_fake_in")!.reshape([]),
    }, ParamStore.loadStrict(g.paramSpecs.values(), c.weights!, c.name));
    const missing = c.outputs.filter((n) => !(n in out)).map((n): Check => ({ tensor: n, ok: false, worst: Infinity, detail: "not produced by maskbit" }));
    return [...checkOutputs(c, out), ...missing];
  } finally {
    await compiled.dispose();
  }
}

/** The loss fields a discriminator case sets (official names), over the official recipe. */
function lossFromCase(section: ConfigObject | undefined): LossConfig {
  if (!section) return lossOfficial;
  const num = (k: string, fallback: number) => (typeof section[k] === "number" ? (section[k] as number) : fallback);
  const kind = section.discriminator_loss;
  return {
    ...lossOfficial,
    discriminatorLoss: kind === "vanilla" || kind === "non-saturating" ? kind : "hinge",
    lecamRegularizationWeight: num("lecam_regularization_weight", lossOfficial.lecamRegularizationWeight),
    discriminatorFactor: num("discriminator_factor", lossOfficial.discriminatorFactor),
    emaDecay: num("ema_decay", lossOfficial.emaDecay),
  };
}
