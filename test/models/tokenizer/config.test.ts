import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../../../src/engine/errors.js";
import { parseYaml, type ConfigObject } from "../../../src/config/yaml.js";
import {
  codebookSize, loadTokenizerConfig, parseTokenizerConfig, toOfficialSection, tokenizerConfigFromJson, tokenizer10bit, tokenizer12bit,
  tokenizer14bit, tokenizer16bit, tokenizer18bit, validateTokenizerConfig, vqganPlus10bit, vqganPlus12bit, type TokenizerConfig,
} from "../../../src/models/tokenizer/config.js";

const CONFIGS = join(import.meta.dirname, "../../../../shared/reference/official-configs/tokenizer");

const VARIANTS: Readonly<Record<string, TokenizerConfig>> = {
  "maskbit_tokenizer_10bit.yaml": tokenizer10bit,
  "maskbit_tokenizer_12bit.yaml": tokenizer12bit,
  "maskbit_tokenizer_14bit.yaml": tokenizer14bit,
  "maskbit_tokenizer_16bit.yaml": tokenizer16bit,
  "maskbit_tokenizer_18bit.yaml": tokenizer18bit,
  "vqgan_plus_10bit.yaml": vqganPlus10bit,
  "vqgan_plus_12bit.yaml": vqganPlus12bit,
};

test("every official tokenizer YAML parses to its named variant", () => {
  const files = readdirSync(CONFIGS).filter((f) => f.endsWith(".yaml")).sort();
  assert.deepEqual(files, Object.keys(VARIANTS).sort(), "a variant constant for every released config");
  for (const f of files) assert.deepEqual(loadTokenizerConfig(join(CONFIGS, f)), VARIANTS[f], f);
});

test("LFQ codebook size is 2^K whatever the YAML says (14/16/18-bit files say 4096)", () => {
  const c = loadTokenizerConfig(join(CONFIGS, "maskbit_tokenizer_18bit.yaml"));
  assert.equal(c.tokenSize, 18);
  assert.equal(codebookSize(c), 262144);
  assert.equal(codebookSize(vqganPlus12bit), 4096);
});

test("toOfficialSection -> JSON -> parse round-trips every variant", () => {
  for (const c of [...Object.values(VARIANTS), { ...tokenizer10bit, numChannels: 1, numResBlocksDecoder: 3, sampleWithConv: false }]) {
    assert.deepEqual(tokenizerConfigFromJson(JSON.stringify(toOfficialSection(c))), c);
  }
});

const section = (overrides: ConfigObject): ConfigObject =>
  ({ ...(parseYaml(`model_class: "vqgan+"\nquantizer_type: "lookup-free"\ncodebook_size: 1024\ntoken_size: 10\ncommitment_cost: 0.25
entropy_loss_weight: 0.02\nentropy_loss_temperature: 0.01\nentropy_gamma: 1.0\nnum_channels: 3\nhidden_channels: 128
channel_mult: [1,1,2,2,4]\nnum_resolutions: 5\nnum_res_blocks: 2\nsample_with_conv: True\n`)), ...overrides });

function rejects(overrides: ConfigObject, scope: string, expected: string): void {
  assert.throws(() => parseTokenizerConfig(section(overrides)), (e: unknown) => {
    assert.ok(e instanceof ConfigError, `ConfigError, got ${String(e)}`);
    assert.equal(e.scope, scope);
    assert.ok(e.expected.includes(expected), `expected "${e.expected}" to mention "${expected}"`);
    return true;
  });
}

test("bad configs name the field: channels not divisible by 32 groups", () => rejects({ hidden_channels: 48 }, "model.vq_model.hidden_channels", "multiple of 32"));
test("bad configs name the field: K = 21 > 20 and K = 0", () => {
  rejects({ token_size: 21 }, "model.vq_model.token_size", "between 1 and 20");
  rejects({ token_size: 0 }, "model.vq_model.token_size", "positive integer");
});
test("bad configs name the field: num_resolutions != len(channel_mult)", () => rejects({ num_resolutions: 4 }, "model.vq_model.num_resolutions", "len(channel_mult) = 5"));
test("bad configs name the field: empty or fractional channel_mult", () => {
  rejects({ channel_mult: [] }, "model.vq_model.channel_mult", "non-empty");
  rejects({ channel_mult: [1, 1.5] }, "model.vq_model.channel_mult", "integers");
});
test("bad configs name the field: unknown key, unknown quantizer, legacy MaskGIT class, missing field", () => {
  rejects({ num_res_blocs: 2 }, "model.vq_model", "keys among");
  rejects({ quantizer_type: "vae" }, "model.vq_model.quantizer_type", "lookup-free");
  rejects({ model_class: "maskgit" }, "model.vq_model.model_class", "vqgan+");
  rejects({ entropy_loss_temperature: 0 }, "model.vq_model.entropy_loss_temperature", "> 0");
  rejects({ num_res_blocks: 0 }, "model.vq_model.num_res_blocks", "positive integer");
  const { token_size: _drop, ...withoutK } = section({});
  assert.throws(() => parseTokenizerConfig(withoutK), (e: unknown) => e instanceof ConfigError && e.scope === "model.vq_model.token_size");
});

test("valid non-default configs: grayscale, K = 1 and 20, 3 levels, average-pool downsampling, VQ with L2", () => {
  for (const c of [
    { ...tokenizer10bit, numChannels: 1 }, { ...tokenizer10bit, tokenSize: 1 }, { ...tokenizer10bit, tokenSize: 20 },
    { ...tokenizer10bit, channelMult: [1, 2, 4], numResolutions: 3, sampleWithConv: false },
    { ...vqganPlus12bit, quantizer: { ...vqganPlus12bit.quantizer, l2Normalize: true } },
  ]) assert.equal(validateTokenizerConfig(c), c);
});
