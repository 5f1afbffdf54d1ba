// Stage II training (spec 3.4): masked bit modeling on pre-tokenized ids. One ORT session holds the
// whole step: in-graph Bernoulli masks with per-sample arccos ratios, class-label dropout and
// dropout (all drawn from the fed per-step seed), the label-smoothed loss over every slot,
// backward, clipping, AdamW (official betas 0.9 / 0.96, weight decay 0.045 from the recipe) and
// the EMA. A step is a pure function of (weights, optimizer state, batch, step seed), so a resumed
// run repeats the uninterrupted one.

import { HostTensor } from "../engine/host-tensor.js";
import { ParamStore } from "../engine/params.js";
import type { SessionOptions } from "../engine/runtime/session.js";
import { TrainState, cosineWithMinimum, type CosineWithMinimumConfig } from "../engine/optim/index.js";
import { ConfigError } from "../engine/errors.js";
import { writeGrid } from "../io/image.js";
import { Generator } from "../models/generator/generator.js";
import { generatorParamSpecs } from "../models/generator/transformer.js";
import { buildGeneratorTrainingGraph } from "../models/generator/objective.js";
import { stepSeed } from "../models/generator/masking.js";
import type { Tokenizer } from "../models/tokenizer/tokenizer.js";
import type { GeneratorRecipe } from "./generator-recipe.js";
import { TokenBatches, type TokenBatchState, type TokenDataset } from "./token-dataset.js";
import { lrSchedule } from "./recipe.js";
import { restoreGroup } from "./checkpoint.js";
import type { Selection } from "./best-checkpoint.js";
import { SELECTION_KEY, type SampleEvaluator } from "./sample-evaluator.js";
import { scalarOutputs, type PlotGroup, type StepMetrics, type Trainer, type TrainerSnapshot } from "./loop.js";

export interface GeneratorTrainerMeta {
  readonly batches: TokenBatchState;
  /** The frozen tokenizer's file hash: a run only resumes on the same tokens. */
  readonly tokenizerSha256: string;
}

export interface GeneratorTrainerOptions {
  readonly tokenizerSha256: string;
  /** Periodic evaluation of a fixed sample (training.eval_samples); with it, <run>/best/ is kept. */
  readonly evaluator?: SampleEvaluator;
  readonly session?: SessionOptions;
}

const GROUPS = { generator: "generator", optim: "optimizer" } as const;
/** Logged outputs of the objective that repeat the loss itself. */
const SKIP = ["mlm_loss"];

export class GeneratorTrainer implements Trainer<GeneratorTrainerMeta> {
  readonly label = "train-generator";
  readonly plots: readonly PlotGroup[] = [
    { file: "loss-generator.png", title: "masked bit modeling loss", keys: ["loss", "masked_token_loss"], logY: true },
    { file: "accuracy.png", title: "token accuracy", keys: ["correct_tokens", "masked_correct_tokens"] },
    { file: "eval.png", title: "periodic evaluation (fixed sample)", keys: ["eval_fd", "eval_class_accuracy", "eval_precision", "eval_recall", SELECTION_KEY] },
  ];
  readonly selection?: Selection;
  readonly evaluate?: () => Promise<Record<string, number>>;
  private state: TrainState | null = null;
  private viewer: Generator | null = null;
  /** Training step whose weights the viewer holds: a params.set() recompiles its sessions, so it is done once per step. */
  private viewerStep = -1;
  private readonly batches: TokenBatches;
  private readonly schedule: CosineWithMinimumConfig;
  private readonly keys: string[];
  private readonly store: ParamStore;

  constructor(
    readonly recipe: GeneratorRecipe,
    private readonly tokenizer: Tokenizer,
    tokens: TokenDataset,
    private readonly classNames: readonly string[],
    private readonly o: GeneratorTrainerOptions,
  ) {
    const cfg = recipe.generator, t = recipe.training;
    if (classNames.length > cfg.numClasses) {
      throw new ConfigError({ op: "GeneratorTrainer", scope: "model.mlm_model.nclass", expected: `at least the dataset's ${classNames.length} classes`, got: String(cfg.numClasses) });
    }
    if (tokens.seqLen !== cfg.tokenGrid ** 2) {
      throw new ConfigError({ op: "GeneratorTrainer", expected: `${cfg.tokenGrid ** 2} tokens per image (dataset.preprocessing.resolution / tokenizer stride, squared)`, got: `${tokens.seqLen}` });
    }
    this.batches = new TokenBatches(tokens, t.batchSize, t.seed);
    this.schedule = lrSchedule(recipe.learningRate, recipe.warmupSteps, t.maxTrainSteps, recipe.lrMinimumRate);
    this.keys = generatorParamSpecs(cfg).map((s) => s.key);
    this.store = ParamStore.init(generatorParamSpecs(cfg), t.seed);
    const evaluator = o.evaluator;
    if (evaluator) {
      this.selection = { key: SELECTION_KEY, mode: "min" };
      this.evaluate = async () => evaluator.evaluate(await this.inference(), this.tokenizer);
    }
  }

  get totalSteps(): number { return this.recipe.training.maxTrainSteps; }

  async step(i: number): Promise<StepMetrics> {
    const state = await this.trainState();
    const b = this.batches.next();
    const lr = cosineWithMinimum(this.schedule, state.step);
    const r = await state.run({ ids: b.ids, labels: b.labels, seed: stepSeed(this.recipe.training.seed, i) }, lr);
    return { loss: r.loss, ...scalarOutputs(r.outputs, SKIP), grad_norm: r.gradNorm, lr };
  }

  snapshot(): TrainerSnapshot<GeneratorTrainerMeta> {
    const tensors = new Map<string, ReadonlyMap<string, HostTensor>>([[GROUPS.generator, new Map(this.keys.map((k) => [k, this.store.get(k)!]))]]);
    if (this.state) tensors.set(GROUPS.optim, this.state.stateDict());
    return { tensors, meta: { batches: this.batches.state, tokenizerSha256: this.o.tokenizerSha256 } };
  }

  async restore(_step: number, s: TrainerSnapshot<GeneratorTrainerMeta>): Promise<void> {
    if (s.meta.tokenizerSha256 !== this.o.tokenizerSha256) {
      throw new ConfigError({ op: "train-generator --resume", expected: `the tokenizer the run started with (sha256 ${s.meta.tokenizerSha256.slice(0, 12)}…)`, got: `a file with sha256 ${this.o.tokenizerSha256.slice(0, 12)}…` });
    }
    restoreGroup(this.store, s.tensors, GROUPS.generator, this.keys);
    this.batches.restore(s.meta.batches);
    const optim = s.tensors.get(GROUPS.optim);
    if (optim) (await this.trainState()).loadStateDict(optim);
  }

  /** One row per class, `num_generated_images` samples each, from the EMA weights with a fixed seed. */
  async writeSamples(path: string): Promise<void> {
    const perRow = this.recipe.training.numGeneratedImages;
    const labels = this.classNames.flatMap((_, c) => Array.from({ length: perRow }, () => c));
    const out = await (await this.inference()).sample({ labels, seed: this.recipe.training.seed, tokenizer: this.tokenizer, clamp: true });
    await writeGrid(path, out.images!, { cols: perRow, rowLabels: this.classNames });
  }

  async exportModel(dir: string): Promise<string> {
    const path = `${dir}/generator.safetensors`;
    (await this.inference()).save(path);
    return path;
  }

  async dispose(): Promise<void> {
    await this.o.evaluator?.dispose();
    await this.state?.dispose();
    await this.viewer?.dispose();
    this.state = null;
    this.viewer = null;
  }

  /** Compiled on first use, after any restore has put the checkpoint's weights in the store. */
  private async trainState(): Promise<TrainState> {
    if (this.state) return this.state;
    const t = this.recipe.training;
    const g = buildGeneratorTrainingGraph(this.recipe.generator, t.batchSize);
    const outputs = Object.fromEntries(Object.entries(g.logs).filter(([k]) => !SKIP.includes(k)));
    this.state = await TrainState.create(g.loss, this.store, {
      adamw: this.recipe.adamw, ...(t.useEma ? { emaDecay: t.emaDecay } : {}), outputs, ...(this.o.session ? { session: this.o.session } : {}),
    });
    return this.state;
  }

  /** A Generator over the current weights (EMA where kept), for sample grids and export. */
  private async inference(): Promise<Generator> {
    const step = this.state?.step ?? 0;
    if (this.viewer && this.viewerStep === step) return this.viewer;
    this.viewerStep = step;
    const ema = this.state?.emaParams();
    const weights = new Map(this.keys.map((k) => [k, ema?.get(k) ?? this.store.get(k)!]));
    if (!this.viewer) {
      // Class names travel with the exported model so `maskbit generate --class "Ankle boot"` works.
      const classNames = this.classNames.length === this.recipe.generator.numClasses ? { classNames: this.classNames } : {};
      this.viewer = await Generator.load({ config: this.recipe.generator, params: weights, ...classNames }, this.o.session ? { session: this.o.session } : {});
    } else {
      for (const [k, v] of weights) this.viewer.params.set(k, v);
    }
    return this.viewer;
  }
}
