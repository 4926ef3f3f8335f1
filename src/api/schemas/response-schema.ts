/**
 * Builders for the routes' response schemas. Unlike request schemas (closed,
 * json-schema.ts), a response object is OPEN: it names the fields a client
 * may rely on and allows more, so a field the daemon adds later (or one the
 * schema forgot) still reaches the CLI. ferryd serializes with JSON.stringify
 * (app.ts), so a schema never drops or coerces a field; these builders also set
 * additionalProperties: true explicitly, so a schema-driven serializer would
 * keep them too. response-schemas.test.ts checks both.
 */
import { ERROR_CODES } from '../../errors/codes.js';

type Schema = Record<string, unknown>;

export const text = (description?: string): Schema => ({ type: 'string', ...(description ? { description } : {}) });
export const num = (description?: string): Schema => ({ type: 'number', ...(description ? { description } : {}) });
export const integer = (description?: string): Schema => ({ type: 'integer', ...(description ? { description } : {}) });
export const flag = (description?: string): Schema => ({ type: 'boolean', ...(description ? { description } : {}) });
export const nullable = (s: Schema): Schema => ({ ...s, type: [s.type as string, 'null'] });
export const list = (items: Schema, description?: string): Schema => ({ type: 'array', items, ...(description ? { description } : {}) });
export const choice = (values: readonly string[]): Schema => ({ type: 'string', enum: [...values] });
/** Any JSON value (QEMU's replies, pass-through statistics). */
export const anyValue = (description?: string): Schema => (description ? { description } : {});

/** An open object: the named fields (`required` always there), more allowed. */
export function record(properties: Record<string, Schema>, required: string[] = [], description?: string): Schema {
  return {
    type: 'object',
    ...(description ? { description } : {}),
    properties,
    ...(required.length > 0 ? { required } : {}),
    additionalProperties: true,
  };
}

/** An object whose keys are data (parameter names, device names). */
export const mapOf = (values: Schema, description?: string): Schema => ({
  type: 'object',
  additionalProperties: values,
  ...(description ? { description } : {}),
});

/** Every error leaves the API as this body (error-handler.ts), with the code's HTTP status. */
export const errorBody = record(
  {
    error: record(
      {
        code: { type: 'string', enum: Object.keys(ERROR_CODES), description: 'A stable code: docs/errors.md lists each with its meaning and hint' },
        message: text("What went wrong, in virsh's words where virsh has some"),
        hint: text('What to do about it (absent when there is nothing to add)'),
        details: record({}, [], 'Machine-readable facts about the error (the domain, the issues of an invalid request, ...)'),
      },
      ['code', 'message', 'details'],
    ),
  },
  ['error'],
  'An error: the HTTP status comes from the code',
);

/** The error body's shared schema (app.addSchema): every route's 4xx and 5xx refer to it. */
export const ERROR_SCHEMA_ID = 'FerryError';
export const errorRef: Schema = { $ref: `${ERROR_SCHEMA_ID}#` };

/** An empty success body: the operation is done. */
export const done = record({}, [], 'Done');

/** The `response` of a route: its 2xx body, and the error body for every 4xx and 5xx. */
export function replies(ok: Schema, status = 200): Record<string, Schema> {
  return { [status]: ok, '4xx': errorRef, '5xx': errorRef };
}
