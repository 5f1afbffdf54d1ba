import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { applyOverrides, loadYaml, parseYaml, field } from "../../src/config/yaml.js";
import { ConfigError } from "../../src/engine/errors.js";

const CONFIGS = join(import.meta.dirname, "../../../shared/reference/official-configs");

test("every official YAML parses, with digit-separated ints and 1e-4 as numbers", () => {
  for (const stage of ["tokenizer", "generator"]) {
    for (const f of readdirSync(join(CONFIGS, stage))) {
      const c = loadYaml(join(CONFIGS, stage, f));
      const training = field.section(c, "training", "");
      assert.equal(typeof training.max_train_steps, "number", `${f}: training.max_train_steps`);
      const opt = field.section(field.section(c, "optimizer", ""), "params", "optimizer");
      assert.equal(opt.learning_rate, 1e-4, f);
    }
  }
});

test("dotted overrides replace values and reject unknown keys", () => {
  const c = parseYaml("training:\n  max_train_steps: 1_350_000\n  seed: 42\nmodel:\n  dims: [1, 2]\n");
  assert.equal((c.training as { max_train_steps: number }).max_train_steps, 1350000);
  const o = applyOverrides(c, ["training.max_train_steps=2000", "model.dims=[3,4,5]", "+training.extra=true"]);
  assert.deepEqual(o.training, { max_train_steps: 2000, seed: 42, extra: true });
  assert.deepEqual((o.model as { dims: number[] }).dims, [3, 4, 5]);
  assert.equal((c.training as { max_train_steps: number }).max_train_steps, 1350000, "original untouched");
  assert.throws(() => applyOverrides(c, ["training.max_steps=1"]), (e: unknown) => e instanceof ConfigError && e.scope === "training.max_steps");
  assert.throws(() => applyOverrides(c, ["training"]), ConfigError);
});

test("bad YAML and wrongly typed fields name the place", () => {
  assert.throws(() => parseYaml("a: [1, 2", "x.yaml"), (e: unknown) => e instanceof ConfigError && e.scope === "x.yaml");
  assert.throws(() => loadYaml("/nonexistent/file.yaml"), (e: unknown) => e instanceof ConfigError && e.got === "ENOENT");
  const c = parseYaml("model:\n  k: ten\n");
  assert.throws(() => field.int(field.section(c, "model", ""), "k", "model"), (e: unknown) => e instanceof ConfigError && e.scope === "model.k");
});
