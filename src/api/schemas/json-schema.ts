/**
 * Small builders for the routes' JSON schemas. Every object is closed
 * (additionalProperties: false): an unknown key is refused naming it, never
 * dropped, since a misspelt option must not run a different operation.
 */
type Schema = Record<string, unknown>;

export const str = (o: Schema = {}): Schema => ({ type: 'string', ...o });
export const nonEmpty = (o: Schema = {}): Schema => ({ type: 'string', minLength: 1, ...o });
export const bool = (): Schema => ({ type: 'boolean' });
/** An integer from `minimum`; `maximum` defaults to the largest integer JSON carries exactly. */
export const int = (minimum: number, maximum = Number.MAX_SAFE_INTEGER): Schema => ({ type: 'integer', minimum, maximum });
export const oneOf = (values: readonly string[]): Schema => ({ type: 'string', enum: [...values] });
export const arrayOf = (items: Schema, o: Schema = {}): Schema => ({ type: 'array', items, ...o });

/** A closed object: `required` keys must be there, no key beyond `properties` may be. */
export function object(properties: Record<string, Schema>, required: string[] = []): Schema {
  return { type: 'object', additionalProperties: false, properties, ...(required.length > 0 ? { required } : {}) };
}

/** A body that may be absent (null) or a closed object: POST /domains/:ref/start and friends. */
export function optionalObject(properties: Record<string, Schema>): Schema {
  return { type: ['object', 'null'], additionalProperties: false, properties };
}

/** A map the API passes through to QEMU, which checks it (qemu-monitor-command's arguments, migration parameters). */
export const openObject = (): Schema => ({ type: 'object' });
