// Stage I training in the official order of updates (spec 2.8), per step i:
//   1. forward the autoencoder on the batch, L_G (annealed entropy, d_weight * f(i) * hinge through
//      the frozen discriminator), backward, clip, AdamW       -- one ORT session
//   2. if i >= discriminator_start: L_D on (x, stopgrad(x̂)) with the LeCam EMAs, backward, clip,
//      AdamW on its own warmup-cosine schedule, whose step counts only discriminator updates
//   3. EMA of the autoencoder weights (inside session 1; the discriminator step does not touch
//      autoencoder weights, so updating the EMA before it gives the same result)
// Before discriminator_start the adversarial term is multiplied by 0, so it is left out of the
// graph: a first session without the discriminator runs until then, then the optimizer state moves
// to a session that includes it. The frozen discriminator's forward and backward into x̂ cost
// 13-26% of an autoencoder step (measured at batch 16 on the Fashion-MNIST recipe), which a
// factor-0 term would pay for nothing; the losses are identical either way.

import { HostTensor } from "../engine/host-tensor.js";
import { ParamStore, specsOf } from "../engine/params.js";
import type { SessionOptions } from "../engine/runtime/session.js";
import { TrainState, cosineWithMinimum, type CosineWithMinimumConfig } from "../engine/optim/index.js";
import type { LoaderState, BatchLoader } from "../data/loader.js";
import { writeGrid } from "../io/image.js";
import { ImageMetrics, ReconstructionMeans } from "../eval/image-metrics.js";
import { CodebookStats } from "../eval/codebook.js";
import { codebookBits, runTokenizerEval, scoreTokenizerEval } from "../eval/run-tokenizer-eval.js";
import type { InDomainClassifier } from "../eval/classifier.js";
import type { ImageDataset } from "../data/dataset.js";
import { Tokenizer } from "../models/tokenizer/tokenizer.js";
import { tokenizerParamSpecs } from "../models/tokenizer/forward.js";
import { discriminatorFactorAt, entropyAnnealingAt, shouldTrainDiscriminator } from "../models/tokenizer/loss-config.js";
import type { TokenizerRecipe, PerceptualWeights } from "./tokenizer-recipe.js";
import { AE_FEEDS, D_FEEDS, EMA_FAKE_OUT, EMA_REAL_OUT, X_HAT, buildAutoencoderStep, buildDiscriminatorStep } from "./tokenizer-steps.js";
import { concatBatches, heldOutBatch, imageLoader, type TrainingImages } from "./images.js";
import { lrSchedule } from "./recipe.js";
import { IMAGE_SIZE_METADATA_KEY } from "../models/compat.js";
import type { Selection } from "./best-checkpoint.js";
import { scalarOutputs, type PlotGroup, type StepMetrics, type Trainer, type TrainerSnapshot } from "./loop.js";
import { restoreGroup } from "./checkpoint.js";

export interface TokenizerTrainerMeta {
  readonly loader: LoaderState;
  readonly lecam: { readonly real: number; readonly fake: number };
}

export interface TokenizerTrainerOptions {
  readonly session?: SessionOptions;
  readonly perceptual?: PerceptualWeights;
  /** Held-out images for the reconstruction grid and, without `reconstructionFd`, the eval metrics (default 64). */
  readonly evalImages?: number;
  /**
   * training.eval_samples > 0: every evaluation reconstructs the first `images` held-out images and
   * scores them as `eval-tokenizer` does (rFD-FMNIST by this classifier, PSNR, SSIM, codebook use),
   * and <run>/best/ keeps the tokenizer of the lowest rFD. Disposed with the trainer.
   */
  readonly reconstructionFd?: { readonly classifier: InDomainClassifier; readonly images: number };
}

const GROUPS = { tokenizer: "tokenizer", discriminator: "discriminator", aeOptim: "autoencoder_optimizer", dOptim: "discriminator_optimizer" } as const;

export class TokenizerTrainer implements Trainer<TokenizerTrainerMeta> {
  readonly label = "train-tokenizer";
  readonly plots: readonly PlotGroup[] = [
    { file: "loss-autoencoder.png", title: "autoencoder", keys: ["loss", "reconstruction_loss", "perceptual_loss", "quantizer_loss", "weighted_gan_loss"] },
    { file: "loss-reconstruction.png", title: "reconstruction loss (4 x MSE)", keys: ["reconstruction_loss"], logY: true },
    { file: "loss-discriminator.png", title: "discriminator", keys: ["discriminator_loss", "d_gan_loss", "lecam_loss", "logits_real", "logits_fake"] },
    { file: "eval.png", title: "held-out reconstruction PSNR (dB)", keys: ["eval_psnr"] },
    { file: "eval-rfd.png", title: "held-out rFD-FMNIST (training.eval_samples images)", keys: ["eval_rfd"], logY: true },
  ];
  /**
   * <run>/best/ keeps the EMA tokenizer of the lowest held-out rFD-FMNIST when training.eval_samples
   * asks for it: the quality measure, by the evaluator classifier, which no loss term trains
   * against (the perceptual loss uses a different network), and which the discriminator improves
   * while it costs some PSNR (measured on the v2 recipe: rFD 0.164 -> 0.145, PSNR 22.70 -> 22.51 dB
   * from step 4750 to 6000). Without it, the highest held-out PSNR: pixel fidelity, measured
   * without the evaluator.
   */
  readonly selection: Selection;
  private ae: { state: TrainState; withGan: boolean } | null = null;
  private disc: TrainState | null = null;
  private lecam = { real: 0, fake: 0 };
  private viewer: Tokenizer | null = null;
  /** Training step whose weights the viewer holds: a params.set() recompiles its sessions, so it is done once per step. */
  private viewerStep = -1;
  private metrics: ImageMetrics | null = null;
  private readonly aeSchedule: CosineWithMinimumConfig;
  private readonly dSchedule: CosineWithMinimumConfig;
  private readonly tokenizerKeys: string[];
  private readonly discKeys: string[];

  private constructor(
    readonly recipe: TokenizerRecipe,
    private readonly store: ParamStore,
    private readonly loader: BatchLoader,
    private readonly heldOut: { images: HostTensor; labels: HostTensor },
    private readonly heldOutData: ImageDataset,
    private readonly o: TokenizerTrainerOptions,
  ) {
    this.selection = o.reconstructionFd ? { key: "eval_rfd", mode: "min" } : { key: "eval_psnr", mode: "max" };
    const t = recipe.training;
    this.aeSchedule = lrSchedule(recipe.learningRate, recipe.warmupSteps, t.maxTrainSteps, recipe.lrMinimumRate);
    // The discriminator's schedule only counts its own updates, which start at discriminator_start.
    this.dSchedule = lrSchedule(recipe.discriminatorLearningRate, recipe.warmupSteps, Math.max(1, t.maxTrainSteps - recipe.losses.discriminatorStart), recipe.lrMinimumRate);
    this.tokenizerKeys = tokenizerParamSpecs(recipe.tokenizer).map((s) => s.key);
    this.discKeys = [...buildDiscriminatorStep(recipe).graph.paramSpecs.keys()];
  }

  static async create(recipe: TokenizerRecipe, images: TrainingImages, o: TokenizerTrainerOptions = {}): Promise<TokenizerTrainer> {
    const t = recipe.training;
    const channels = recipe.tokenizer.numChannels as 1 | 3;
    // Distinct init streams for the two networks, both derived from the run seed.
    const store = ParamStore.init(tokenizerParamSpecs(recipe.tokenizer), t.seed);
    for (const [k, v] of ParamStore.init(specsOf(buildDiscriminatorStep(recipe).graph), t.seed + 1).values) store.set(k, v);
    for (const [k, v] of o.perceptual?.params.values ?? []) store.set(k, v);
    const loader = imageLoader(images.train, recipe.dataset, { batchSize: t.batchSize, seed: t.seed, channels });
    const heldOut = await heldOutBatch(images, recipe.dataset, o.evalImages ?? 64, channels);
    return new TokenizerTrainer(recipe, store, loader, heldOut, images.heldOut, o);
  }

  get totalSteps(): number { return this.recipe.training.maxTrainSteps; }

  async step(i: number): Promise<StepMetrics> {
    const losses = this.recipe.losses;
    const batch = await this.loader.next();
    const ae = await this.autoencoder(i);
    const lr = cosineWithMinimum(this.aeSchedule, ae.state.step);
    const feeds: Record<string, HostTensor> = { [AE_FEEDS.x]: batch.images, [AE_FEEDS.entropyAnnealing]: HostTensor.scalar(entropyAnnealingAt(losses, i)) };
    if (ae.withGan) feeds[AE_FEEDS.discriminatorFactor] = HostTensor.scalar(discriminatorFactorAt(losses, i));
    const r = await ae.state.run(feeds, lr);
    let m: StepMetrics = { loss: r.loss, ...scalarOutputs(r.outputs, [X_HAT]), grad_norm: r.gradNorm, lr };
    if (shouldTrainDiscriminator(losses, i)) {
      const d = await this.discriminator();
      const dLr = cosineWithMinimum(this.dSchedule, d.step);
      const lecam = losses.lecamRegularizationWeight > 0;
      const dFeeds: Record<string, HostTensor> = { [D_FEEDS.real]: batch.images, [D_FEEDS.fake]: r.outputs[X_HAT]! };
      if (lecam) Object.assign(dFeeds, { [D_FEEDS.emaReal]: HostTensor.scalar(this.lecam.real), [D_FEEDS.emaFake]: HostTensor.scalar(this.lecam.fake) });
      const dr = await d.run(dFeeds, dLr);
      if (lecam) this.lecam = { real: dr.outputs[EMA_REAL_OUT]!.at(0), fake: dr.outputs[EMA_FAKE_OUT]!.at(0) };
      m = { ...m, discriminator_loss: dr.loss, ...scalarOutputs(dr.outputs, [EMA_REAL_OUT, EMA_FAKE_OUT]), d_grad_norm: dr.gradNorm, d_lr: dLr };
    }
    return m;
  }

  snapshot(): TrainerSnapshot<TokenizerTrainerMeta> {
    const pick = (keys: readonly string[]) => new Map(keys.map((k) => [k, this.store.get(k)!]));
    const tensors = new Map<string, ReadonlyMap<string, HostTensor>>([
      [GROUPS.tokenizer, pick(this.tokenizerKeys)],
      [GROUPS.discriminator, pick(this.discKeys)],
    ]);
    if (this.ae) tensors.set(GROUPS.aeOptim, this.ae.state.stateDict());
    if (this.disc) tensors.set(GROUPS.dOptim, this.disc.stateDict());
    return { tensors, meta: { loader: this.loader.state, lecam: { ...this.lecam } } };
  }

  async restore(step: number, s: TrainerSnapshot<TokenizerTrainerMeta>): Promise<void> {
    restoreGroup(this.store, s.tensors, GROUPS.tokenizer, this.tokenizerKeys);
    restoreGroup(this.store, s.tensors, GROUPS.discriminator, this.discKeys);
    this.loader.restore(s.meta.loader);
    this.lecam = { ...s.meta.lecam };
    const aeState = s.tensors.get(GROUPS.aeOptim);
    if (aeState) (await this.autoencoder(step)).state.loadStateDict(aeState);
    const dState = s.tensors.get(GROUPS.dOptim);
    if (dState) (await this.discriminator()).loadStateDict(dState);
  }

  async evaluate(): Promise<Record<string, number>> {
    if (this.o.reconstructionFd) return this.evaluateWithFd(this.o.reconstructionFd);
    const { images } = this.heldOut;
    const rec = await (await this.inference()).reconstruct(images, { clamp: true });
    const [, c, h, w] = images.shape as [number, number, number, number];
    this.metrics ??= new ImageMetrics(c, h, w, this.o.session);
    const means = new ReconstructionMeans();
    means.add(await this.metrics.perImage(images, rec.images));
    const m = means.result();
    // Bits of the id space: K for LFQ, log2 of the table size for VQ (whose tokenSize is a width).
    const codes = new CodebookStats(codebookBits(this.recipe.tokenizer), this.o.session);
    await codes.add(rec.ids);
    const usage = (await codes.result()).usage;
    await codes.dispose();
    return { eval_psnr: m.psnr, eval_ssim: m.ssim, eval_mse: m.mse, eval_codebook_usage: usage };
  }

  /** The first `images` held-out images, scored as `eval-tokenizer --limit images` scores them. */
  private async evaluateWithFd(r: { classifier: InDomainClassifier; images: number }): Promise<Record<string, number>> {
    const d = this.recipe.dataset;
    const sums = await runTokenizerEval({
      tokenizer: await this.inference(), classifier: r.classifier, data: this.heldOutData, limit: r.images,
      size: d.resolution, fit: d.fit, batchSize: 64, ...(this.o.session ? { session: this.o.session } : {}),
    });
    const m = await scoreTokenizerEval(sums, this.o.session);
    return { eval_rfd: m.rfd_fmnist, eval_psnr: m.psnr, eval_ssim: m.ssim, eval_mse: m.mse, eval_codebook_usage: m.codebook_usage };
  }

  /** Row 1: held-out inputs; row 2: their reconstructions by the EMA weights. */
  async writeSamples(path: string): Promise<void> {
    const n = Math.min(this.recipe.training.numGeneratedImages, this.heldOut.images.shape[0]!);
    const rec = await (await this.inference()).reconstruct(this.heldOut.images, { clamp: true });
    const grid = concatBatches([this.heldOut.images, rec.images], n);
    await writeGrid(path, grid, { cols: n, rowLabels: ["input", this.recipe.training.useEma ? "EMA recon" : "recon"] });
  }

  async exportModel(dir: string): Promise<string> {
    const path = `${dir}/tokenizer.safetensors`;
    // The training resolution travels with the model, so `generate` can check a generator's token grid against it.
    (await this.inference()).save(path, { [IMAGE_SIZE_METADATA_KEY]: String(this.recipe.dataset.resolution) });
    return path;
  }

  async dispose(): Promise<void> {
    await this.ae?.state.dispose();
    await this.disc?.dispose();
    await this.viewer?.dispose();
    await this.metrics?.dispose();
    await this.o.reconstructionFd?.classifier.dispose();
    this.ae = this.disc = this.viewer = this.metrics = null;
  }

  /** The autoencoder session for step i, moving the optimizer state over when the GAN term starts. */
  private async autoencoder(i: number): Promise<{ state: TrainState; withGan: boolean }> {
    const l = this.recipe.losses;
    const withGan = shouldTrainDiscriminator(l, i) && l.discriminatorWeight * l.discriminatorFactor !== 0;
    if (this.ae?.withGan === withGan) return this.ae;
    const g = buildAutoencoderStep(this.recipe, withGan, this.o.perceptual?.net);
    const t = this.recipe.training;
    const state = await TrainState.create(g.loss, this.store, {
      adamw: this.recipe.adamw, ...(t.useEma ? { emaDecay: t.emaDecay } : {}), outputs: g.outputs, ...(this.o.session ? { session: this.o.session } : {}),
    });
    if (this.ae) {
      state.loadStateDict(this.ae.state.stateDict());
      await this.ae.state.dispose();
    }
    this.ae = { state, withGan };
    return this.ae;
  }

  private async discriminator(): Promise<TrainState> {
    if (this.disc) return this.disc;
    const g = buildDiscriminatorStep(this.recipe);
    this.disc = await TrainState.create(g.loss, this.store, { adamw: this.recipe.adamw, outputs: g.outputs, ...(this.o.session ? { session: this.o.session } : {}) });
    return this.disc;
  }

  /** A Tokenizer over the current weights (EMA where kept), for reconstructions and export. */
  private async inference(): Promise<Tokenizer> {
    const step = this.ae?.state.step ?? 0;
    if (this.viewer && this.viewerStep === step) return this.viewer;
    this.viewerStep = step;
    const ema = this.ae?.state.emaParams();
    const weights = new Map(this.tokenizerKeys.map((k) => [k, ema?.get(k) ?? this.store.get(k)!]));
    if (!this.viewer) {
      this.viewer = await Tokenizer.load({ config: this.recipe.tokenizer, params: weights }, this.o.session ? { session: this.o.session } : {});
    } else {
      for (const [k, v] of weights) this.viewer.params.set(k, v);
    }
    return this.viewer;
  }
}
