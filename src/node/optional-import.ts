// The CLI's and trainers' native helpers (sharp, @napi-rs/canvas, chart.js) are optional
// dependencies: a library or browser user never needs them. Loading one that is missing says
// which package to install instead of failing with a resolver stack.

import { ConfigError } from "../engine/errors.js";

export async function optionalImport<T>(name: string, neededFor: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new ConfigError({ op: "optionalImport", scope: name, expected: `the optional package ${name} (for ${neededFor})`, got: "not installed", hint: `npm install ${name}` });
    }
    throw e;
  }
}
