// State-dict key conversions for checkpoints whose names differ from the official module's.
// This is the one place such renames live, so model code always uses the official keys.

import { CheckpointError } from "../engine/errors.js";

const LEGACY_GENERATOR_PREFIX = "token_emb";
const GENERATOR_PREFIX = "input_proj";

/**
 * The released generator checkpoints call the bit projection `token_emb.*`; the module names it
 * `input_proj.*`. Renames every key starting with "token_emb", keeping the key order.
 */
export function renameLegacyGeneratorKeys<T>(state: ReadonlyMap<string, T>): Map<string, T> {
  const out = new Map<string, T>();
  for (const [key, value] of state) {
    const renamed = key.startsWith(LEGACY_GENERATOR_PREFIX) ? GENERATOR_PREFIX + key.slice(LEGACY_GENERATOR_PREFIX.length) : key;
    if (out.has(renamed) || (renamed !== key && state.has(renamed))) {
      throw new CheckpointError({
        op: "renameLegacyGeneratorKeys",
        expected: `at most one of ${key} / ${renamed}`,
        got: "both",
        hint: "the checkpoint mixes legacy and current key names",
      });
    }
    out.set(renamed, value);
  }
  return out;
}

/**
 * The inverse of renameLegacyGeneratorKeys: `input_proj.*` back to the released checkpoints'
 * `token_emb.*`, so a written generator loads with the official load_pretrained.
 */
export function toReleasedGeneratorKeys<T>(state: ReadonlyMap<string, T>): Map<string, T> {
  const out = new Map<string, T>();
  for (const [key, value] of state) {
    const renamed = key.startsWith(GENERATOR_PREFIX) ? LEGACY_GENERATOR_PREFIX + key.slice(GENERATOR_PREFIX.length) : key;
    if (out.has(renamed) || (renamed !== key && state.has(renamed))) {
      throw new CheckpointError({ op: "toReleasedGeneratorKeys", expected: `at most one of ${key} / ${renamed}`, got: "both", hint: "the state dict mixes legacy and current key names" });
    }
    out.set(renamed, value);
  }
  return out;
}
