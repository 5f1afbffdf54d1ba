// `maskbit experiment bit-structure`: do bit tokens carry structure (paper §3, Fig. 4)? For an LFQ
// tokenizer, flip one bit plane of every token and measure the change of the decoded image (pixel
// RMS, classifier-feature distance, class flips); do the same to the binary index of a VQ
// tokenizer with the same number of codes; and ask whether decoded-nearest codes are Hamming
// neighbours. The tokenizers are the roadmap's step 5 (VQGAN+, VQ) and step 6 (LFQ).

import { existsSync } from "node:fs";
import { join } from "node:path";
import { BatchLoader } from "../data/loader.js";
import { ConfigError } from "../engine/errors.js";
import { InDomainClassifier } from "../eval/classifier.js";
import { Tokenizer } from "../models/tokenizer/tokenizer.js";
import { codebookBits } from "../eval/run-tokenizer-eval.js";
import { makeGrid } from "../io/image.js";
import { concatBatches } from "../train/images.js";
import { plotCurves } from "../train/plots.js";
import { flipStudy, neighbourStudy, type FlipStudy, type NeighbourStudy } from "./bit-analysis.js";
import type { ExperimentContext } from "./roadmap.js";
import { ROADMAP } from "./roadmap.js";
import { writeAtomic, type ExperimentResult, type Table } from "./results.js";
import { SESSION, tokenizerDoc, tokenizerRun, type DataChoice } from "./runs.js";
import { fmtSpread, spearman, spread } from "./stats.js";

const VQ_STEP = 5, LFQ_STEP = 6;
/** Images flipped per tokenizer (each costs K + 2 decodes). */
const MAX_IMAGES = 256;

async function pairTokenizers(ctx: ExperimentContext, data: DataChoice, seed: number, roadmapDir?: string): Promise<{ vq: string; lfq: string }> {
  if (roadmapDir) {
    const at = (step: number) => join(roadmapDir, "runs", `step${step}-seed${seed}`, "tokenizer.safetensors");
    for (const p of [at(VQ_STEP), at(LFQ_STEP)]) {
      if (!existsSync(p)) throw new ConfigError({ op: "bit-structure", scope: "--roadmap-dir", expected: `a finished roadmap run with ${p}`, got: "no such file", hint: "run `maskbit experiment roadmap` first, with at least as many seeds" });
    }
    return { vq: at(VQ_STEP), lfq: at(LFQ_STEP) };
  }
  const train = async (step: number, tag: string) => {
    const doc = tokenizerDoc(ROADMAP[step]!.file, ctx.budget, data, (d) => { (d.training as Record<string, unknown>).seed = 42 + seed; });
    return (await tokenizerRun(doc, join(ctx.out, "runs", `${data.name}-${tag}-seed${seed}`), ctx.log)).model;
  };
  return { vq: await train(VQ_STEP, "vq"), lfq: await train(LFQ_STEP, "lfq") };
}

interface SeedStudy { lfq: FlipStudy; vq: FlipStudy; lfqNeighbours: NeighbourStudy; vqNeighbours: NeighbourStudy }

export async function runBitStructure(ctx: ExperimentContext, data: DataChoice, roadmapDir?: string): Promise<Omit<ExperimentResult, "wallSeconds" | "machine">> {
  if (roadmapDir && data.name !== "fashion-mnist") throw new ConfigError({ op: "bit-structure", scope: "--roadmap-dir", expected: "only with --dataset fashion-mnist (the roadmap's data)", got: data.name });
  const count = Math.min(MAX_IMAGES, ctx.budget.evalImages);
  const test = await data.test();
  const loader = new BatchLoader(test, { batchSize: Math.min(count, test.count), seed: 0, shuffle: false, dropLast: false, prefetch: false, size: 32, fit: data.fit, channels: 1 });
  const images = (await loader.next()).images;
  const classifier = InDomainClassifier.load(undefined, { session: SESSION });
  const studies: SeedStudy[] = [];
  let firstRows: { lfq: FlipStudy; vq: FlipStudy } | null = null;
  try {
    for (let seed = 0; seed < ctx.seeds; seed++) {
      const paths = await pairTokenizers(ctx, data, seed, roadmapDir);
      ctx.log(`bit-structure: analysing seed ${seed}`);
      const lfqTok = await Tokenizer.load(paths.lfq, { session: SESSION });
      const vqTok = await Tokenizer.load(paths.vq, { session: SESSION });
      try {
        const bits = codebookBits(lfqTok.config), vqBits = codebookBits(vqTok.config);
        if (bits !== vqBits) throw new ConfigError({ op: "bit-structure", expected: "LFQ and VQ tokenizers with the same number of codes", got: `2^${bits} and 2^${vqBits}` });
        const lfq = await flipStudy(lfqTok, classifier, images, bits, 1000 + seed);
        const vq = await flipStudy(vqTok, classifier, images, bits, 1000 + seed);
        const grid: [number, number] = [32 / lfqTok.stride, 32 / lfqTok.stride];
        const used = async (t: Tokenizer) => [...((await t.encode(images)).ids.data as BigInt64Array)].map(Number);
        const lfqNeighbours = await neighbourStudy(lfqTok, await used(lfqTok), bits, grid, seed, spearman);
        const vqNeighbours = await neighbourStudy(vqTok, await used(vqTok), bits, grid, seed, spearman);
        studies.push({ lfq, vq, lfqNeighbours, vqNeighbours });
        firstRows ??= { lfq, vq };
      } finally {
        await Promise.all([lfqTok.dispose(), vqTok.dispose()]);
      }
    }
  } finally {
    await classifier.dispose();
  }
  const bits = studies[0]!.lfq.bits;
  const flipsKnown = data.classifierInDomain;
  const rowsFor = (kind: "lfq" | "vq") => studies[0]![kind].effects.map((e, k) => {
    const at = (f: (s: SeedStudy) => number) => spread(studies.map(f));
    const pixel = at((s) => s[kind].effects[k]!.pixelRms), feat = at((s) => s[kind].effects[k]!.featureDistance), flips = at((s) => s[kind].effects[k]!.classFlips);
    return [kind === "lfq" ? "LFQ" : "VQ (index bits)", e.perturbation, fmtSpread(pixel, 4), fmtSpread(feat, 3), flipsKnown ? fmtSpread(flips, 3) : null];
  });
  const flipTable: Table = {
    title: `Flipping one bit of every token (${images.shape[0]} ${data.name} test images)`,
    columns: ["tokenizer", "perturbation", "pixel RMS change", "feature distance (rel.)", "class flips"],
    rows: [...rowsFor("lfq"), ...rowsFor("vq")],
    notes: [
      "pixel RMS: root-mean-square change of the decoded image (values in [0, 1]) against the unflipped decode.",
      "feature distance: L2 between classifier features of flipped and unflipped decodes, divided by the mean distance between two different images' features (1 = as different as another image).",
      flipsKnown ? "class flips: fraction of images whose predicted class changes." : "class flips: not reported, the Fashion-MNIST classifier is off-domain for this dataset (its features still serve as a generic distance).",
      "random-bit: an independent random bit per token; random-code: a uniformly random id per token (the no-structure reference).",
    ],
  };
  const summary = (kind: "lfq" | "vq", label: string) => {
    const mean = (f: (e: FlipStudy["effects"][number]) => number) => spread(studies.map((s) => s[kind].effects.slice(0, bits).reduce((a, e) => a + f(e), 0) / bits));
    const rnd = (f: (e: FlipStudy["effects"][number]) => number) => spread(studies.map((s) => f(s[kind].effects[bits + 1]!)));
    return [label, fmtSpread(mean((e) => e.pixelRms), 4), fmtSpread(rnd((e) => e.pixelRms), 4), fmtSpread(mean((e) => e.featureDistance), 3), fmtSpread(rnd((e) => e.featureDistance), 3),
      flipsKnown ? fmtSpread(mean((e) => e.classFlips), 3) : null, flipsKnown ? fmtSpread(rnd((e) => e.classFlips), 3) : null];
  };
  const summaryTable: Table = {
    title: "One-bit flips vs a random code, averaged over the bit planes",
    columns: ["tokenizer", "pixel RMS (1 bit)", "pixel RMS (random code)", "feature dist. (1 bit)", "feature dist. (random code)", "class flips (1 bit)", "class flips (random code)"],
    rows: [summary("lfq", "LFQ"), summary("vq", "VQ (index bits)")],
  };
  const nn = (kind: "lfqNeighbours" | "vqNeighbours", label: string) => {
    const at = (f: (s: NeighbourStudy) => number, d = 3) => fmtSpread(spread(studies.map((s) => f(s[kind]))), d);
    return [label, at((s) => s.codes, 0), at((s) => s.meanHammingToNearest, 2), at((s) => s.chanceHamming, 2), at((s) => s.fractionNearestAtHamming1), at((s) => s.spearmanHammingVsDecoded)];
  };
  const nnTable: Table = {
    title: "Nearest neighbours of decoded codes in Hamming space",
    columns: ["tokenizer", "codes used", "Hamming distance to decoded-nearest code", "chance level", "fraction at Hamming 1", "Spearman(Hamming, decoded L2)"],
    rows: [nn("lfqNeighbours", "LFQ"), nn("vqNeighbours", "VQ (index bits)")],
    notes: ["Each code used on the test images is decoded as a constant token grid; its nearest other code in pixel space is found, and the Hamming distance between the two ids reported."],
  };
  const figure = `bit-flips-${data.name}.png`, curve = `hamming-${data.name}.png`;
  const rows = firstRows!;
  writeAtomic(join(ctx.out, figure), await makeGrid(concatBatches([rows.lfq.firstImageRow, rows.vq.firstImageRow], bits + 1), {
    cols: bits + 1, rowLabels: ["LFQ", "VQ"],
  }));
  plotCurves(join(ctx.out, curve), "mean decoded-image L2 between two codes, by Hamming distance of their ids", [
    { label: "LFQ", points: studies[0]!.lfqNeighbours.decodedDistanceByHamming.map((v, k) => [k + 1, v] as [number, number]) },
    { label: "VQ (index bits)", points: studies[0]!.vqNeighbours.decodedDistanceByHamming.map((v, k) => [k + 1, v] as [number, number]) },
  ]);
  return {
    experiment: "bit-structure", budget: ctx.budget.name, dataset: data.name, seeds: ctx.seeds, tables: [flipTable, summaryTable, nnTable], figures: [figure, curve],
    details: { images: images.shape[0], bits, studies: studies.map((s) => ({ lfq: s.lfq.effects, vq: s.vq.effects, lfqNeighbours: s.lfqNeighbours, vqNeighbours: s.vqNeighbours })), figureColumns: "column 0: unflipped decode; column k: bit k-1 flipped in every token" },
  };
}
