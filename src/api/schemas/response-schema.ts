/**
 * The parts every route's `response` shares: the error body, the empty
 * success body, and replies() that puts a 2xx body beside the error's. A
 * reply object is OPEN (shared/typed-schema.ts's record()): it names the
 * fields a client may rely on and allows more, so a field the daemon adds
 * later still reaches the CLI. ferryd serializes with JSON.stringify (app.ts),
 * so a schema never drops or coerces a field; additionalProperties: true is
 * explicit, so a schema-driven serializer would keep them too.
 * response-schemas.test.ts checks both.
 */
import { Type } from '@sinclair/typebox';
import { ERROR_CODES, type ErrorCode } from '../../errors/codes.js';
import { choice, optional, record, type Static, text, type TSchema } from '../../shared/typed-schema.js';

/** Every error leaves the API as this body (error-handler.ts), with the code's HTTP status. */
export const errorBody = record(
  {
    error: record({
      code: choice(Object.keys(ERROR_CODES) as ErrorCode[], 'A stable code: docs/errors.md lists each with its meaning and hint'),
      message: text("What went wrong, in virsh's words where virsh has some"),
      hint: optional(text('What to do about it (absent when there is nothing to add)')),
      details: record({}, 'Machine-readable facts about the error (the domain, the issues of an invalid request, ...)'),
    }),
  },
  'An error: the HTTP status comes from the code',
);
export type ErrorBody = Static<typeof errorBody>;

/** The error body's shared schema (app.addSchema): every route's 4xx and 5xx refer to it. */
export const ERROR_SCHEMA_ID = 'FerryError';
export const errorRef = Type.Unsafe<ErrorBody>({ $ref: `${ERROR_SCHEMA_ID}#` });

/** An empty success body: the operation is done. */
export const done = record({}, 'Done');

/** The `response` of a route: its 2xx body, and the error body for every 4xx and 5xx. */
export function replies(ok: TSchema, status = 200): Record<string, TSchema> {
  return { [status]: ok, '4xx': errorRef, '5xx': errorRef };
}
