// `maskbit convert`: a model between maskbit's safetensors (config in the metadata) and the
// official `torch.save` .bin (official key names, `token_emb.*` for the generator's input
// projection), so a model moves to and from the official PyTorch trainer. Weights go through the
// strict loaders (Tokenizer.load / Generator.load) both ways, so a file of the wrong architecture
// fails here rather than in PyTorch.

import { readFileSync } from "node:fs";
import type { Command } from "../command.js";
import { parseCommand } from "../args.js";
import { ConfigError } from "../../engine/errors.js";
import type { HostTensor } from "../../engine/host-tensor.js";
import { readSafetensors } from "../../io/safetensors.js";
import { readTorchCheckpoint } from "../../io/torch-checkpoint.js";
import { encodeTorchCheckpointParts } from "../../io/torch-writer.js";
import { writeFileAtomic } from "../../node/atomic-file.js";
import { CONFIG_METADATA_KEY } from "../../io/model-file.js";
import { toReleasedGeneratorKeys } from "../../io/keymap.js";
import { Tokenizer } from "../../models/tokenizer/tokenizer.js";
import { tokenizerParamSpecs } from "../../models/tokenizer/forward.js";
import { loadTokenizerConfig, tokenizerConfigFromJson, type TokenizerConfig } from "../../models/tokenizer/config.js";
import { Generator } from "../../models/generator/generator.js";
import { generatorParamSpecs } from "../../models/generator/transformer.js";
import { generatorConfigFromJson, loadGeneratorConfig, type GeneratorConfig } from "../../models/generator/config.js";

type Kind = "tokenizer" | "generator";
const OP = "maskbit convert";
const OPTIONS = { config: { type: "string" }, kind: { type: "string" } } as const;

const formatOf = (path: string): "safetensors" | "bin" | undefined =>
  path.endsWith(".safetensors") ? "safetensors" : /\.(bin|pt|pth)$/.test(path) ? "bin" : undefined;

/** The stage from --kind, else from the keys (only a tokenizer has an encoder). */
function kindOf(given: string | undefined, keys: Iterable<string>): Kind {
  if (given !== undefined) {
    if (given !== "tokenizer" && given !== "generator") throw new ConfigError({ op: OP, scope: "--kind", expected: "tokenizer or generator", got: JSON.stringify(given) });
    return given;
  }
  for (const k of keys) if (k.startsWith("encoder.")) return "tokenizer";
  return "generator";
}

/** --config: an official YAML, or the JSON config maskbit stores in a model file's metadata. */
function readConfig(kind: Kind, path: string): TokenizerConfig | GeneratorConfig {
  if (/\.ya?ml$/.test(path)) return kind === "tokenizer" ? loadTokenizerConfig(path) : loadGeneratorConfig(path);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError({ op: OP, scope: "--config", expected: "a readable YAML or JSON config file", got: (e as Error).message });
  }
  return kind === "tokenizer" ? tokenizerConfigFromJson(text, path) : generatorConfigFromJson(text, path);
}

/** The weights in the official key order, validated by the strict loader. */
async function officialState(kind: Kind, source: string | { config: TokenizerConfig | GeneratorConfig; params: ReadonlyMap<string, HostTensor> }): Promise<{ state: Map<string, HostTensor>; model: Tokenizer | Generator }> {
  if (kind === "tokenizer") {
    const tok = await Tokenizer.load(source as string | { config: TokenizerConfig; params: ReadonlyMap<string, HostTensor> });
    return { state: new Map(tokenizerParamSpecs(tok.config).map((s) => [s.key, tok.params.get(s.key)!])), model: tok };
  }
  const gen = await Generator.load(source as string | { config: GeneratorConfig; params: ReadonlyMap<string, HostTensor> });
  return { state: new Map(generatorParamSpecs(gen.config).map((s) => [s.key, gen.params.get(s.key)!])), model: gen };
}

export const convert: Command = {
  summary: "Convert a model between safetensors and the official torch.save .bin (both ways).",
  usage: "maskbit convert <in.safetensors|in.bin> <out.bin|out.safetensors> [--config <yaml|json>] [--kind tokenizer|generator]",
  async run(argv) {
    const { values, positionals } = parseCommand("convert", argv, OPTIONS);
    const [input, output] = positionals;
    if (positionals.length !== 2 || !input || !output) throw new ConfigError({ op: OP, expected: "<in> <out>", got: `${positionals.length} paths` });
    const from = formatOf(input), to = formatOf(output);
    if (!from || !to || from === to) {
      throw new ConfigError({ op: OP, expected: "one .safetensors and one .bin (.pt, .pth) path", got: `${input} -> ${output}`, hint: "the file extensions choose the direction" });
    }
    if (from === "safetensors") {
      const file = readSafetensors(input);
      const kind = kindOf(values.kind, file.tensors.keys());
      const { state, model } = await officialState(kind, input);
      await model.dispose();
      writeFileAtomic(output, encodeTorchCheckpointParts(kind === "generator" ? toReleasedGeneratorKeys(state) : state));
      // torch.save files carry no config; keep it beside the .bin for the way back.
      const configPath = `${output}.config.json`;
      writeFileAtomic(configPath, [new TextEncoder().encode(file.metadata[CONFIG_METADATA_KEY] ?? "")]);
      console.log(`wrote ${output} (${kind}, ${state.size} tensors, official keys) and ${configPath}`);
      return 0;
    }
    const raw = readTorchCheckpoint(input);
    const kind = kindOf(values.kind, raw.keys());
    if (values.config === undefined) {
      throw new ConfigError({ op: OP, expected: "--config (the official YAML, or the .config.json written beside the .bin)", got: "nothing", hint: "torch.save checkpoints carry no config" });
    }
    const config = readConfig(kind, values.config);
    const { state, model } = await officialState(kind, { config, params: raw });
    model.save(output);
    await model.dispose();
    console.log(`wrote ${output} (${kind}, ${state.size} tensors, config in its metadata)`);
    return 0;
  },
};
