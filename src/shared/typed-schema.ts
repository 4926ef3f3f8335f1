/**
 * TypeBox builders for wire schemas that are also types (Static<typeof s>):
 * every route of the API (api/routes/*; its replies in api/schemas/route-
 * responses.ts, those the CLI reads in shared/api-types.ts and its
 * neighbours), the peer protocol (peer-protocol/) and MigrationOptions. Requests are closed objects (an unknown key is refused
 * naming it, never dropped: a misspelt option must not run a different
 * operation); replies are open (a field added later still reaches the caller).
 * No I/O.
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
/** A body that may be absent (null) or a closed object of optional keys: POST /domains/:ref/start and friends. */
export const nullableClosed = <P extends TProperties>(properties: P) =>
  Type.Unsafe<Static<TObject<P>> | null>({ type: ['object', 'null'], additionalProperties: false, properties });

// ---- replies (open: a field added later still reaches the caller) ----

export const text = (description?: string) => Type.String(described(description));
/**
 * A string the daemon takes from a known set (its type T), documented as a
 * string: a value added later (a new domain state, a display type) is not a
 * breaking change for a client that reads the document.
 */
export const textAs = <T extends string>(description?: string) => Type.Unsafe<T>({ type: 'string', ...described(description) });
export const num = (description?: string) => Type.Number(described(description));
export const integer = (description?: string) => Type.Integer(described(description));
export const flag = (description?: string) => Type.Boolean(described(description));
export const list = <T extends TSchema>(items: T, description?: string) => Type.Array(items, described(description));
export const choice = <const V extends readonly string[]>(values: V, description?: string) =>
  Type.Unsafe<V[number]>({ type: 'string', enum: [...values], ...described(description) });
/** An integer or null, as `{type: ['integer', 'null']}`. */
export const nullableInteger = (description?: string) => Type.Unsafe<number | null>({ type: ['integer', 'null'], ...described(description) });
export const nullableText = (description?: string) => Type.Unsafe<string | null>({ type: ['string', 'null'], ...described(description) });
/** Any JSON value (QEMU's replies, the guest agent's, pass-through statistics): typed T where the daemon knows more. */
export const anyValue = <T = unknown>(description?: string) => Type.Unsafe<T>(described(description));
/** A reply schema that may also be null, as `{type: [its type, 'null']}`. */
export const nullable = <T extends TSchema>(s: T) => Type.Unsafe<Static<T> | null>({ ...s, type: [s.type as string, 'null'] });
/** An open object: keys wrapped in optional() may be absent, more keys are allowed. */
export const record = <P extends TProperties>(properties: P, description?: string): TObject<P> =>
  Type.Object(properties, { ...described(description), additionalProperties: true });
/** An object whose keys are data: `{type: 'object', additionalProperties: values}`. */
export const mapOf = <T extends TSchema>(values: T, description?: string) =>
  Type.Unsafe<Record<string, Static<T>>>({ type: 'object', additionalProperties: values, ...described(description) });
