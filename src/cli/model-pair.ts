// Loading a generator with its tokenizer for the commands that use both (generate,
// eval-generator): the pair is checked (code bits, token grid) before any sampling starts.

import type { InferenceDType } from "../engine/quant/weights.js";
import { closeSync, openSync, readSync } from "node:fs";
import { Generator } from "../models/generator/generator.js";
import { Tokenizer } from "../models/tokenizer/tokenizer.js";
import { checkModelPair, tokenizerImageSize } from "../models/compat.js";
import type { SessionOptions } from "../engine/runtime/session.js";

/** The __metadata__ of a safetensors file from its header alone (nothing for other formats or on any oddity). */
export function safetensorsMetadata(path: string): Record<string, string> {
  if (!path.endsWith(".safetensors")) return {};
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(8);
    if (readSync(fd, head, 0, 8, 0) !== 8) return {};
    const n = Number(head.readBigUInt64LE(0));
    // The loader proper reports malformed headers; here a bounded read that gives up quietly.
    if (!(n > 0 && n <= 1 << 24)) return {};
    const json = Buffer.alloc(n);
    if (readSync(fd, json, 0, n, 8) !== n) return {};
    const meta: unknown = (JSON.parse(json.toString("utf8")) as Record<string, unknown>).__metadata__;
    if (meta === null || typeof meta !== "object") return {};
    return Object.fromEntries(Object.entries(meta).filter(([, v]) => typeof v === "string")) as Record<string, string>;
  } catch {
    return {};
  } finally {
    closeSync(fd);
  }
}

export interface ModelPair {
  readonly generator: Generator;
  readonly tokenizer: Tokenizer;
  dispose(): Promise<void>;
}

export async function loadModelPair(generatorPath: string, tokenizerPath: string, o: { readonly config?: string; readonly session: SessionOptions; readonly dtype?: InferenceDType }): Promise<ModelPair> {
  const generator = await Generator.load(generatorPath, { ...(o.config !== undefined ? { config: o.config } : {}), session: o.session, ...(o.dtype ? { dtype: o.dtype } : {}) });
  let tokenizer: Tokenizer | undefined;
  try {
    tokenizer = await Tokenizer.load(tokenizerPath, { session: o.session });
    checkModelPair(
      { config: generator.config, name: generatorPath },
      { config: tokenizer.config, name: tokenizerPath, imageSize: tokenizerImageSize(tokenizer.config, safetensorsMetadata(tokenizerPath)) },
    );
  } catch (e) {
    await Promise.all([generator.dispose(), tokenizer?.dispose()]);
    throw e;
  }
  const t = tokenizer;
  return { generator, tokenizer: t, dispose: async () => void (await Promise.all([generator.dispose(), t.dispose()])) };
}
