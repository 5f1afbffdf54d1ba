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

/** The classic "billion laughs": nine levels of nine aliases each, 9^9 = 387 million strings. */
function aliasBomb(): string {
  const names = "abcdefghi";
  const lines = [`a: &a [${Array(9).fill('"lol"').join(",")}]`];
  for (let i = 1; i < 9; i++) lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(",")}]`);
  return lines.join("\n");
}

test("a YAML alias bomb ends in a ConfigError naming maxNodes, without expanding it", () => {
  const bomb = aliasBomb();
  assert.ok(bomb.length < 600, `${bomb.length} bytes`);
  const before = process.memoryUsage().heapUsed;
  assert.throws(() => parseYaml(bomb, "bomb.yaml"), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.scope, "bomb.yaml");
    assert.match(e.expected, /maxNodes = 100000/);
    assert.match(e.hint ?? "", /limits: \{ maxNodes \}/);
    return true;
  });
  assert.ok(process.memoryUsage().heapUsed - before < 200 << 20, "heap stayed small");
  // The same document passes once the budget covers it (first two levels: 9 + 81 values).
  const small = "a: &a [1, 2]\nb: [*a, *a, *a]\n";
  assert.deepEqual(parseYaml(small).b, [[1, 2], [1, 2], [1, 2]]);
  assert.throws(() => parseYaml(small, "s", { limits: { maxNodes: 8 } }), /maxNodes = 8/);
});

test("YAML alias count, self-referencing anchors, document size and __proto__ keys are bounded or inert", () => {
  const aliases = `a: &x 1\nb: [${Array(20).fill("*x").join(", ")}]\n`;
  assert.throws(() => parseYaml(aliases, "a.yaml", { limits: { maxAliases: 10 } }), (e: unknown) => e instanceof ConfigError && /maxAliases/.test(e.hint ?? ""));
  assert.throws(() => parseYaml("x: &a [*a]\n", "cycle.yaml"), (e: unknown) => e instanceof ConfigError && /maxDepth = 100/.test(e.expected));
  assert.throws(() => parseYaml(`a: "${"x".repeat(2000)}"\n`, "big.yaml", { limits: { maxChars: 1000 } }), (e: unknown) => e instanceof ConfigError && /maxChars = 1000/.test(e.expected));
  const proto = parseYaml('__proto__: {polluted: 1}\n');
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(proto, "__proto__")?.value, { polluted: 1 });
});

test("malformed override values are ConfigErrors naming the key", () => {
  const c = parseYaml("training:\n  seed: 42\n");
  assert.throws(() => applyOverrides(c, ["training.seed=[1,"]), (e: unknown) => e instanceof ConfigError && e.op === "override" && e.scope === "training.seed");
  assert.throws(() => applyOverrides(c, ["training.seed="]), (e: unknown) => e instanceof ConfigError && e.expected === "a value after =");
  assert.deepEqual(applyOverrides(c, ["training.seed=null"]).training, { seed: null });
});
