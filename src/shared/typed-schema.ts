/**
 * TypeBox builders for wire schemas that are also types (Static<typeof s>):
 * the peer protocol (peer-protocol/) and the API's MigrationOptions. They
 * emit the same JSON Schema as api/schemas/json-schema.ts (requests: closed
 * objects) and api/schemas/response-schema.ts (replies: open objects), so
 * validation and the OpenAPI document read as before. No I/O.
 */
import { type Static, type TObject, type TProperties, type TSchema, Type } from '@sinclair/typebox';

export type { Static, TSchema } from '@sinclair/typebox';

const described = (description?: string): { description?: string } => (description ? { description } : {});

// ---- requests (closed: an unknown key is refused naming it) ----

export const str = () => Type.String();
export const nonEmpty = () => Type.String({ minLength: 1 });
export const bool = () => Type.Boolean();
/** An integer from `minimum`; `maximum` defaults to the largest integer JSON carries exactly. */
export const int = (minimum: number, maximum = Number.MAX_SAFE_INTEGER) => Type.Integer({ minimum, maximum });
/** One of some strings, as `{type: 'string', enum}` (the validation message names them). */
export const oneOf = <const V extends readonly string[]>(values: V) => Type.Unsafe<V[number]>({ type: 'string', enum: [...values] });
export const arrayOf = <T extends TSchema>(items: T) => Type.Array(items);
export const optional = <T extends TSchema>(s: T) => Type.Optional(s);
/** A string or null, as `{type: ['string', 'null']}`. */
export const nullableStr = () => Type.Unsafe<string | null>({ type: ['string', 'null'] });
/** A map passed through to QEMU, which checks it (migration parameters, job statistics). */
export const openObject = () => Type.Unsafe<Record<string, unknown>>({ type: 'object' });
/** A closed object: keys wrapped in optional() may be absent, no key beyond `properties` may be there. */
export const closed = <P extends TProperties>(properties: P): TObject<P> => Type.Object(properties, { additionalProperties: false });

// ---- replies (open: a field added later still reaches the caller) ----

export const text = (description?: string) => Type.String(described(description));
export const num = (description?: string) => Type.Number(described(description));
export const integer = (description?: string) => Type.Integer(described(description));
export const flag = (description?: string) => Type.Boolean(described(description));
export const list = <T extends TSchema>(items: T, description?: string) => Type.Array(items, described(description));
export const choice = <const V extends readonly string[]>(values: V, description?: string) =>
  Type.Unsafe<V[number]>({ type: 'string', enum: [...values], ...described(description) });
/** An integer or null, as `{type: ['integer', 'null']}`. */
export const nullableInteger = (description?: string) => Type.Unsafe<number | null>({ type: ['integer', 'null'], ...described(description) });
export const nullableText = (description?: string) => Type.Unsafe<string | null>({ type: ['string', 'null'], ...described(description) });
/** An open object: keys wrapped in optional() may be absent, more keys are allowed. */
export const record = <P extends TProperties>(properties: P, description?: string): TObject<P> =>
  Type.Object(properties, { ...described(description), additionalProperties: true });
/** An object whose keys are data: `{type: 'object', additionalProperties: values}`. */
export const mapOf = <T extends TSchema>(values: T, description?: string) =>
  Type.Unsafe<Record<string, Static<T>>>({ type: 'object', additionalProperties: values, ...described(description) });
