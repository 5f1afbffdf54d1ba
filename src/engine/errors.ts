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
