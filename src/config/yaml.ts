// Reading recipe files (the official YAML layout: experiment / model / losses / dataset /
// optimizer / lr_scheduler / training) into plain objects, and dotted command-line overrides
// such as `training.max_train_steps=2000`. Typed validation happens once, in each stage's config
// parser; this module only turns text into values.

import { load as loadYamlText } from "js-yaml";
import { ConfigError } from "../engine/errors.js";
import { fileSystem } from "../io/platform.js";

export type ConfigValue = string | number | boolean | null | ConfigValue[] | ConfigObject;
export interface ConfigObject {
  [key: string]: ConfigValue;
}

/** YAML 1.1 integers with digit separators (1_350_000) as the official files write them. */
const UNDERSCORE_INT = /^[+-]?\d[\d_]*$/;
/** PyYAML/OmegaConf read "1e-4" as a number; YAML 1.2 parsers agree, but be explicit. */
const BARE_FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export interface YamlLimits {
  /** Characters of one document (default 1 Mi; the official recipes are about 3 KB). */
  readonly maxChars: number;
  /** Alias nodes (`*name`) in one document (default 1,000). */
  readonly maxAliases: number;
  /**
   * Values after expanding aliases (default 100,000). Aliases share one parsed object, so a few
   * hundred bytes can stand for billions of values ("billion laughs"); the budget is spent while
   * they are expanded, and a document over it fails instead of exhausting memory.
   */
  readonly maxNodes: number;
  /** Nesting depth after expanding aliases (default 100). */
  readonly maxDepth: number;
}

export const DEFAULT_YAML_LIMITS: YamlLimits = { maxChars: 1 << 20, maxAliases: 1000, maxNodes: 100_000, maxDepth: 100 };

export interface YamlOptions {
  readonly limits?: Partial<YamlLimits>;
}

const limitHint = (field: keyof YamlLimits): string => `raise it with { limits: { ${field} } } if the file is trusted`;

function normalise(root: unknown, source: string, limits: YamlLimits): ConfigValue {
  let nodes = 0;
  const over = (field: keyof YamlLimits, what: string): ConfigError =>
    new ConfigError({ op: "parseYaml", scope: source, expected: `at most ${field} = ${limits[field]} ${what} once aliases are expanded`, got: "more",
      hint: `an alias bomb or a self-referencing anchor? ${limitHint(field)}` });
  const visit = (v: unknown, depth: number): ConfigValue => {
    if (++nodes > limits.maxNodes) throw over("maxNodes", "values");
    if (depth > limits.maxDepth) throw over("maxDepth", "levels of nesting");
    if (typeof v === "string") {
      if (UNDERSCORE_INT.test(v)) return Number(v.replaceAll("_", ""));
      if (BARE_FLOAT.test(v)) return Number(v);
      return v;
    }
    if (Array.isArray(v)) return v.map((x) => visit(x, depth + 1));
    if (v !== null && typeof v === "object") {
      const out: ConfigObject = {};
      // defineProperty, so a "__proto__" key is an ordinary entry rather than a prototype change.
      for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: visit(x, depth + 1), enumerable: true, writable: true, configurable: true });
      return out;
    }
    if (typeof v === "number" || typeof v === "boolean" || v === null) return v;
    return String(v);
  };
  return visit(root, 0);
}

/** YAML text -> plain values, bounded: document size, alias count, expanded size and depth. */
function parseValue(text: string, op: string, source: string, limits: YamlLimits): ConfigValue {
  if (text.length > limits.maxChars) {
    throw new ConfigError({ op, scope: source, expected: `a document of at most maxChars = ${limits.maxChars} characters`, got: `${text.length}`, hint: limitHint("maxChars") });
  }
  let doc: unknown;
  try {
    doc = loadYamlText(text, { maxAliases: limits.maxAliases, maxDepth: limits.maxDepth });
  } catch (e) {
    const message = e instanceof Error ? e.message.split("\n")[0]! : String(e);
    throw new ConfigError({ op, scope: source, expected: "valid YAML", got: message, hint: /alias/i.test(message) ? limitHint("maxAliases") : undefined });
  }
  return normalise(doc ?? null, source, limits);
}

export function parseYaml(text: string, source = "<yaml>", options: YamlOptions = {}): ConfigObject {
  const limits: YamlLimits = { ...DEFAULT_YAML_LIMITS, ...options.limits };
  const v = parseValue(text, "parseYaml", source, limits) ?? {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ConfigError({ op: "parseYaml", scope: source, expected: "a mapping at the top level", got: Array.isArray(v) ? "a list" : typeof v });
  }
  return v;
}

export function loadYaml(path: string): ConfigObject {
  let text: string;
  try {
    text = new TextDecoder().decode(fileSystem("loadYaml", path).readFile(path));
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError({ op: "loadYaml", scope: path, expected: "a readable YAML file", got: (e as { code?: string }).code ?? String(e) });
  }
  return parseYaml(text, path);
}

/**
 * Applies `a.b.c=value` overrides (value parsed as YAML: numbers, booleans, lists). A path that
 * does not exist in the config is an error unless it starts with "+" (explicit addition).
 */
export function applyOverrides(config: ConfigObject, overrides: readonly string[]): ConfigObject {
  const out = structuredClone(config);
  for (const item of overrides) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new ConfigError({ op: "override", expected: "key.path=value", got: JSON.stringify(item) });
    const adding = item.startsWith("+");
    const path = item.slice(adding ? 1 : 0, eq).split(".");
    const text = item.slice(eq + 1);
    if (text.trim() === "") {
      throw new ConfigError({ op: "override", scope: path.join("."), expected: "a value after =", got: "nothing", hint: "write key=null for null or key=\"\" for an empty string" });
    }
    const value = parseValue(text, "override", path.join("."), DEFAULT_YAML_LIMITS);
    let node: ConfigObject = out;
    path.forEach((key, i) => {
      const last = i === path.length - 1;
      if (!(key in node)) {
        if (!adding) {
          throw new ConfigError({ op: "override", scope: path.join("."), expected: `an existing key (one of: ${Object.keys(node).join(", ")})`, got: `"${key}"`, hint: 'prefix with "+" to add a new key' });
        }
        node[key] = last ? value : {};
      }
      if (last) node[key] = value;
      else {
        const next = node[key];
        if (typeof next !== "object" || next === null || Array.isArray(next)) {
          throw new ConfigError({ op: "override", scope: path.slice(0, i + 1).join("."), expected: "a section", got: JSON.stringify(next) });
        }
        node = next;
      }
    });
  }
  return out;
}

/** Reads a typed field out of a section, failing with the dotted path when it is the wrong kind. */
export const field = {
  section(obj: ConfigObject, key: string, path: string): ConfigObject {
    const v = obj[key];
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw missing(path, key, "a section", v);
    return v;
  },
  number(obj: ConfigObject, key: string, path: string, fallback?: number): number {
    const v = obj[key] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v)) throw missing(path, key, "a number", v);
    return v;
  },
  int(obj: ConfigObject, key: string, path: string, fallback?: number): number {
    const v = field.number(obj, key, path, fallback);
    if (!Number.isInteger(v)) throw missing(path, key, "an integer", v);
    return v;
  },
  bool(obj: ConfigObject, key: string, path: string, fallback?: boolean): boolean {
    const v = obj[key] ?? fallback;
    if (typeof v !== "boolean") throw missing(path, key, "true or false", v);
    return v;
  },
  string(obj: ConfigObject, key: string, path: string, fallback?: string): string {
    const v = obj[key] ?? fallback;
    if (typeof v !== "string") throw missing(path, key, "a string", v);
    return v;
  },
  ints(obj: ConfigObject, key: string, path: string, fallback?: number[]): number[] {
    const v = obj[key] ?? fallback;
    if (!Array.isArray(v) || !v.every((x) => typeof x === "number" && Number.isInteger(x))) throw missing(path, key, "a list of integers", v);
    return v as number[];
  },
};

function missing(path: string, key: string, expected: string, got: unknown): ConfigError {
  return new ConfigError({ op: "config", scope: path ? `${path}.${key}` : key, expected, got: got === undefined ? "nothing" : JSON.stringify(got) });
}
