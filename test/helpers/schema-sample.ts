import type { RegisteredRoute } from './stub-app.js';

/** A JSON schema node as the routes emit it (their TypeBox builders: src/shared/typed-schema.ts). */
export type Schema = Record<string, unknown> & {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: string[];
  items?: Schema;
  oneOf?: Schema[];
};

/**
 * A value the schema accepts, with every property filled in (required or
 * not), so that every nested object is there: strings 'x', numbers at their
 * minimum, the first enum value, one-item arrays. `version` fields get 1.
 */
export function sample(s: Schema, key = ''): unknown {
  if (s.oneOf) return sample(s.oneOf[0] as Schema, key);
  if (s.enum) return s.enum[0];
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(s.properties ?? {})) o[k] = sample(v, k);
      return o;
    }
    case 'array':
      return [sample(s.items ?? { type: 'string' }, key)];
    case 'string':
      return 'x';
    case 'boolean':
      return false;
    case 'integer':
    case 'number':
      return key === 'version' ? 1 : ((s.minimum as number | undefined) ?? 1);
    default:
      return null;
  }
}

/** A concrete URL for a route: each :param from its schema's sample (an enum's first value), else 'x1'. */
export function sampleUrl(route: RegisteredRoute): string {
  const params = (route.schema?.params ?? {}) as Schema;
  return route.url.replace(/:(\w+)/g, (_m, name: string) => {
    const p = params.properties?.[name];
    if (p?.enum) return String(p.enum[0]);
    return p?.type === 'integer' || p?.type === 'number' ? '1' : 'x1';
  });
}
