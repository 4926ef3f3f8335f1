import { hostname } from 'node:os';
import { ERROR_CODES, type ErrorCode, isErrorCode } from './codes.js';

export interface FerryErrorOptions {
  hint?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** A domain error that callers are expected to catch: a code, a message, a hint. */
export class FerryError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: FerryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FerryError';
    this.code = code;
    this.hint = options.hint ?? ERROR_CODES[code].hint;
    this.details = options.details ?? {};
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  toJSON(): SerializedFerryError {
    return { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }

  static fromJSON(value: unknown): FerryError {
    const v = (value ?? {}) as Partial<SerializedFerryError>;
    const code = isErrorCode(v.code) ? v.code : 'INTERNAL_ERROR';
    return new FerryError(code, typeof v.message === 'string' ? v.message : 'unknown error', {
      ...(typeof v.hint === 'string' ? { hint: v.hint } : {}),
      details: v.details ?? {},
    });
  }
}

export interface SerializedFerryError {
  code: ErrorCode;
  message: string;
  hint: string;
  details: Record<string, unknown>;
}

/** Normalizes anything thrown into a FerryError. Only edges (API, CLI) call this. */
export function fromUnknown(err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  if (isStoreError(err)) {
    return new FerryError('STORE_FAILED', `operation failed: the state database of ferryd on ${hostname()} cannot be written: ${err.message}`, {
      cause: err,
      details: { sqlite: err.code },
    });
  }
  if (err instanceof Error) {
    return new FerryError('INTERNAL_ERROR', `internal error: ${err.message}`, { cause: err });
  }
  return new FerryError('INTERNAL_ERROR', `internal error: ${String(err)}`);
}

/** SQLite's own failures (better-sqlite3's SqliteError: a full disk, an I/O error, a read-only or locked file). */
function isStoreError(err: unknown): err is Error & { code: string } {
  const code: unknown = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return err instanceof Error && err.name === 'SqliteError' && typeof code === 'string' && code.startsWith('SQLITE_');
}
