// Where Tokenizer.load and Generator.load get their bytes and configs: a shipped model by name
// ("fmnist"), or any byte source; a config as an object, YAML text, or a path/URL of a YAML file.
// The shipped-model table itself is io/shipped-models.ts (the one place that names the files).

import { ConfigError } from "../engine/errors.js";
import { parseYaml, type ConfigObject } from "../config/yaml.js";
import { platform } from "../io/platform.js";
import { readBytes, type ByteSource, type ReadOptions } from "../io/source.js";
import { SHIPPED_MODELS, type ShippedModelName, type ShippedModelPart } from "../io/shipped-models.js";

export { SHIPPED_MODELS, type ShippedModelName, type ShippedModelPart } from "../io/shipped-models.js";

export function isShippedModelName(s: unknown): s is ShippedModelName {
  return typeof s === "string" && Object.hasOwn(SHIPPED_MODELS, s);
}

/** The location of a shipped model's file: a path in Node, a URL elsewhere. */
export function shippedModelLocation(name: ShippedModelName, part: ShippedModelPart): string | URL {
  const file = SHIPPED_MODELS[name][part];
  const base = platform().shippedModels;
  if (base === undefined) {
    throw new ConfigError({ op: "shippedModel", scope: name, expected: "a platform that knows where the shipped models are", got: "none", hint: 'import "maskbit" (the entry point sets it), or pass the file\'s URL or bytes' });
  }
  if (base instanceof URL) return new URL(file, base);
  return `${base.replace(/[\\/]+$/, "")}/${file}`;
}

/** Whether a load source is weights already in memory ({ config, params }) rather than a file's bytes. */
export function isParamsSource<S>(s: S): s is Extract<S, { readonly params: unknown }> {
  return typeof s === "object" && s !== null && !(s instanceof Uint8Array) && !(s instanceof ArrayBuffer) && !(s instanceof URL) && "params" in s && "config" in s;
}

/** Resolves a load source: shipped names become their file's location. */
export function resolveModelSource(source: ByteSource, part: ShippedModelPart): ByteSource {
  return isShippedModelName(source) ? shippedModelLocation(source, part) : source;
}

/**
 * A config given as an object (returned as is), YAML text (a string with a line break), or the
 * path / URL of a YAML file; `fromYaml` turns the parsed recipe into the stage's config.
 */
export async function resolveConfig<C extends object>(given: C | string | URL | undefined, fromYaml: (recipe: ConfigObject, where: string) => C, o: ReadOptions = {}): Promise<C | undefined> {
  if (given === undefined) return undefined;
  if (typeof given === "object" && !(given instanceof URL)) return given;
  if (typeof given === "string" && given.includes("\n")) return fromYaml(parseYaml(given, "<yaml text>"), "<yaml text>");
  const where = String(given);
  const text = new TextDecoder().decode(await readBytes(given, o));
  return fromYaml(parseYaml(text, where), where);
}
