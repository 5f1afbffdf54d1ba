// Every maskbit error names where it happened (op or function, and the graph scope), what was
// expected and what was found, so a message points straight back at model code.

export interface ErrorFields {
  readonly op: string;
  readonly scope?: string;
  readonly expected: string;
  readonly got: string;
  readonly hint?: string;
}

export class MaskbitError extends Error {
  readonly op: string;
  readonly scope: string | undefined;
  readonly expected: string;
  readonly got: string;
  readonly hint: string | undefined;

  constructor(fields: ErrorFields) {
    const where = fields.scope ? `${fields.op} (${fields.scope})` : fields.op;
    const hint = fields.hint ? ` (hint: ${fields.hint})` : "";
    super(`${where}: expected ${fields.expected}, got ${fields.got}${hint}`);
    this.name = new.target.name;
    this.op = fields.op;
    this.scope = fields.scope;
    this.expected = fields.expected;
    this.got = fields.got;
    this.hint = fields.hint;
  }
}

/** Operand shapes that do not fit an op's shape rule. */
export class ShapeError extends MaskbitError {}
/** Operand dtypes an op does not accept. */
export class DTypeError extends MaskbitError {}
/** Reverse-mode differentiation reached an op without a VJP rule. */
export class MissingRuleError extends MaskbitError {}
/** A graph input, parameter or feed is missing, unknown or malformed. */
export class FeedError extends MaskbitError {}
/** A checkpoint file is unreadable, refused, or does not match the model. */
export class CheckpointError extends MaskbitError {}
/** A configuration value is unknown or invalid. */
export class ConfigError extends MaskbitError {}

export function fmtShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(", ")}]`;
}

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

/** A HostTensor by shape (dtype, shape, typed data), without importing the class. */
export function isTensorLike(v: unknown): v is { dtype: string; shape: number[] } {
  if (typeof v !== "object" || v === null) return false;
  const t = v as { dtype?: unknown; shape?: unknown; data?: unknown };
  return typeof t.dtype === "string" && Array.isArray(t.shape) && ArrayBuffer.isView(t.data);
}

/** An errno-style error of the platform (Node's fs: ENOENT, ENOSPC, EACCES, ...). */
export interface SystemError extends Error {
  readonly code: string;
  readonly path?: string;
  readonly dest?: string;
  readonly syscall?: string;
}

export function isSystemError(e: unknown): e is SystemError {
  const code: unknown = e instanceof Error ? (e as Error & { code?: unknown }).code : undefined;
  return typeof code === "string" && /^E[A-Z]+$/.test(code);
}
