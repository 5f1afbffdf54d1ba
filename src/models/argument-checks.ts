// The first checks of the public entry points that take options and tensors from user code.
// TypeScript callers get these from the types; JavaScript callers (the browser app, a Worker, a
// REPL) pass whatever they have, and a wrong kind of value (a missing options object, encode()'s
// result where ids are expected, a plain array for a tensor) should be a FeedError that says what
// was expected and what came, not a TypeError from deep inside.

import { FeedError, fmtShape } from "../engine/errors.js";
import type { HostTensor } from "../engine/host-tensor.js";

/** What a value is, in a few words: "int64[1, 8, 8]", "undefined", "a Float32Array of 64 values", ... */
export function describeArgument(v: unknown): string {
  if (isTensorLike(v)) return `${v.dtype}${fmtShape(v.shape)}`;
  if (v === null || v === undefined) return String(v);
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name} of ${(v as unknown as ArrayLike<unknown>).length} values`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "object") {
    const keys = Object.keys(v);
    return keys.length ? `an object with ${keys.slice(0, 6).join(", ")}${keys.length > 6 ? ", ..." : ""}` : "an empty object";
  }
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)}`;
  return `${typeof v} ${String(v)}`;
}

function isTensorLike(v: unknown): v is HostTensor {
  if (typeof v !== "object" || v === null) return false;
  const t = v as Partial<HostTensor>;
  return typeof t.dtype === "string" && Array.isArray(t.shape) && ArrayBuffer.isView(t.data);
}

/** An options object (not undefined, an array or a primitive). */
export function requireOptions(op: string, o: unknown, expected: string): asserts o is object {
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw new FeedError({ op, expected, got: describeArgument(o) });
}

/**
 * A HostTensor, before its dtype and shape are checked. An object holding the tensor under
 * `scope` (encode()'s or sample()'s result passed whole) gets a hint naming the field.
 */
export function requireTensor(op: string, scope: string, v: unknown, expected: string): asserts v is HostTensor {
  if (isTensorLike(v)) return;
  const inner = typeof v === "object" && v !== null && scope in v && isTensorLike((v as Record<string, unknown>)[scope]);
  throw new FeedError({ op, scope, expected: `${expected} (a HostTensor)`, got: describeArgument(v), ...(inner ? { hint: `pass its .${scope}, e.g. the ids of an encode() or sample() result` } : {}) });
}

/** An array of class labels (its values are range-checked where the class count is known). */
export function requireLabels(op: string, v: unknown): asserts v is readonly number[] {
  if (!Array.isArray(v)) throw new FeedError({ op, scope: "labels", expected: "an array of class ids (integers)", got: describeArgument(v) });
}
