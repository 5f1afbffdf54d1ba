import { test } from "node:test";
import assert from "node:assert/strict";
import { renameLegacyGeneratorKeys } from "../../src/io/keymap.js";
import { CheckpointError } from "../../src/engine/errors.js";

test("token_emb.* becomes input_proj.*, other keys and the order are kept", () => {
  const out = renameLegacyGeneratorKeys(new Map([["pos_emb", 1], ["token_emb.weight", 2], ["token_emb.bias", 3], ["head.token_emb", 4]]));
  assert.deepEqual([...out], [["pos_emb", 1], ["input_proj.weight", 2], ["input_proj.bias", 3], ["head.token_emb", 4]]);
});

test("a checkpoint holding both token_emb.weight and input_proj.weight is refused", () => {
  for (const keys of [["token_emb.weight", "input_proj.weight"], ["input_proj.weight", "token_emb.weight"]]) {
    assert.throws(() => renameLegacyGeneratorKeys(new Map(keys.map((k) => [k, 0]))),
      (e: unknown) => e instanceof CheckpointError && e.expected.includes("token_emb.weight") && e.expected.includes("input_proj.weight"));
  }
});
