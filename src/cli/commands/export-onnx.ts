// `maskbit export-onnx`: standalone ONNX files (weights embedded, or external data past 1.8 GB) of
// the tokenizer encoder, the decoder from ids and one generator sampling step; see
// src/models/export-onnx.ts for their inputs and outputs.

import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "../command.js";
import { intOption, modelFile, parseCommand, SHIPPED } from "../args.js";
import { Tokenizer } from "../../models/tokenizer/tokenizer.js";
import { Generator } from "../../models/generator/generator.js";
import { exportOnnx } from "../../models/export-onnx.js";
import { ConfigError } from "../../engine/errors.js";
import { nodeFileSystem } from "../../node/platform.js";

const OPTIONS = {
  tokenizer: { type: "string" },
  generator: { type: "string" },
  "tokenizer-config": { type: "string" },
  "generator-config": { type: "string" },
  only: { type: "string" },
  batch: { type: "string" },
  size: { type: "string" },
  "no-guidance": { type: "boolean", default: false },
  out: { type: "string", default: "onnx" },
  force: { type: "boolean", default: false },
} as const;

export const exportOnnxCommand: Command = {
  summary: "Write standalone ONNX files: tokenizer encoder, decoder from ids, one generator sampling step (weights embedded).",
  usage: "maskbit export-onnx [--tokenizer <ckpt>] [--generator <ckpt>] [--only tokenizer|generator] [--batch n] [--size px] [--no-guidance] [--out dir] [--force]",
  async run(argv) {
    const { values: v } = parseCommand("export-onnx", argv, OPTIONS);
    const only = v.only;
    if (only !== undefined && only !== "tokenizer" && only !== "generator") {
      throw new ConfigError({ op: "maskbit export-onnx", scope: "--only", expected: '"tokenizer" or "generator"', got: JSON.stringify(only) });
    }
    const batch = intOption("export-onnx", "batch", v.batch, 1);
    const tokenizer = only === "generator" ? undefined : await Tokenizer.load(modelFile("export-onnx", "tokenizer", v.tokenizer, SHIPPED.tokenizer), { config: v["tokenizer-config"] });
    const generator = only === "tokenizer" ? undefined : await Generator.load(modelFile("export-onnx", "generator", v.generator, SHIPPED.generator), { config: v["generator-config"] });
    const size = v.size === undefined ? undefined : intOption("export-onnx", "size", v.size, 0);
    const files = exportOnnx({ ...(tokenizer ? { tokenizer } : {}), ...(generator ? { generator } : {}) }, { batch, guidance: !v["no-guidance"], ...(size !== undefined ? { size } : {}) });
    mkdirSync(v.out, { recursive: true });
    for (const f of files) {
      const target = join(v.out, f.fileName);
      if (existsSync(target) && !v.force) throw new ConfigError({ op: "maskbit export-onnx", scope: target, expected: "a new file", got: "an existing one", hint: "pass --force to replace it" });
    }
    for (const f of files) {
      const target = join(v.out, f.fileName);
      nodeFileSystem.writeFileAtomic(target, [f.bytes]);
      if (f.externalData) nodeFileSystem.writeFileAtomic(`${target}.data`, f.externalData);
      const sig = (xs: typeof f.outputs) => xs.map((x) => `${x.name} ${x.dtype}[${x.shape.join(",")}]`).join(", ");
      console.log(`wrote ${target} (${(f.bytes.length / 1e6).toFixed(1)} MB${f.externalData ? " + external data" : ""})\n  inputs: ${sig(f.inputs)}\n  outputs: ${sig(f.outputs)}`);
    }
    await Promise.all([tokenizer?.dispose(), generator?.dispose()]);
    return 0;
  },
};
