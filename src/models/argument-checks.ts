// The first checks of the public entry points that take options and tensors from user code.
// TypeScript callers get these from the types; JavaScript callers (the browser app, a Worker, a
// REPL) pass whatever they have, and a wrong kind of value (a missing options object, encode()'s
// result where ids are expected, a plain array for a tensor) should be a FeedError that says what
// was expected and what came, not a TypeError from deep inside.

import { FeedError, describeArgument, isTensorLike } from "../engine/errors.js";
import type { HostTensor } from "../engine/host-tensor.js";

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
  throw new FeedError({ op, scope, expected: `${expected} (a HostTensor)`, got: describeArgument(v), ...(inner ? { hint: `pass its .${scope} (e.g. encode() and sample() return the ids under .ids)` } : {}) });
}

/**
 * The optional hooks of sample() / complete() / outpaint(): callbacks are functions, a tokenizer
 * has decode(), a signal is an AbortSignal.
 */
export function requireHooks(op: string, o: object): void {
  const hooks = o as { onStep?: unknown; onWindow?: unknown; tokenizer?: unknown; signal?: unknown };
  for (const name of ["onStep", "onWindow"] as const) {
    if (hooks[name] !== undefined && typeof hooks[name] !== "function") throw new FeedError({ op, scope: name, expected: "a function (or nothing)", got: describeArgument(hooks[name]) });
  }
  const t = hooks.tokenizer as { decode?: unknown } | undefined;
  if (t !== undefined && (typeof t !== "object" || t === null || typeof t.decode !== "function")) {
    throw new FeedError({ op, scope: "tokenizer", expected: "a Tokenizer (anything with decode(ids)) to decode the ids into images, or nothing", got: describeArgument(t) });
  }
  if (hooks.signal !== undefined && !(typeof AbortSignal !== "undefined" && hooks.signal instanceof AbortSignal)) {
    throw new FeedError({ op, scope: "signal", expected: "an AbortSignal (or nothing)", got: describeArgument(hooks.signal) });
  }
}

/**
 * Most images one generator call (and one CLI batch) takes: a call's activations grow with its batch,
 * so a million labels would ask ONNX Runtime for terabytes; larger sets are drawn batch by batch.
 */
export const MAX_BATCH_PER_CALL = 4096;

/** An array of class labels, at most MAX_BATCH_PER_CALL (its values are range-checked where the class count is known). */
export function requireLabels(op: string, v: unknown): asserts v is readonly number[] {
  if (!Array.isArray(v)) throw new FeedError({ op, scope: "labels", expected: "an array of class ids (integers)", got: describeArgument(v) });
  if (v.length > MAX_BATCH_PER_CALL) {
    throw new FeedError({
      op, scope: "labels", expected: `at most ${MAX_BATCH_PER_CALL} labels per call`, got: `${v.length}`,
      hint: "draw larger sets in batches, one call per batch with its own seed (maskbit generate --batch does this)",
    });
  }
}
