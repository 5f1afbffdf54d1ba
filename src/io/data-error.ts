// Data files that are missing, unreadable or malformed. The file travels as the error's scope, so
// every message reads "<function> (<file>): expected …, got …".

import { MaskbitError, type ErrorFields } from "../engine/errors.js";

export interface DataErrorFields extends Omit<ErrorFields, "scope"> {
  /** The file or directory the problem is in. */
  readonly file?: string;
}

export class DataError extends MaskbitError {
  readonly file: string | undefined;

  constructor(fields: DataErrorFields) {
    super({ ...fields, scope: fields.file });
    this.file = fields.file;
  }
}
