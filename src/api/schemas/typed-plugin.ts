import type { FastifyPluginAsync, FastifyTypeProvider, RawServerDefault } from 'fastify';
import type { Static, TSchema } from '../../shared/typed-schema.js';

/**
 * Fastify's type provider for TypeBox schemas: a route's params, querystring
 * and body are typed by the schemas that validate them (Static<typeof s>),
 * so a handler never restates them by hand (what @fastify/type-provider-typebox
 * does, in the few lines ferry needs).
 */
export interface TypeBoxProvider extends FastifyTypeProvider {
  validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  serializer: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
}

/** A plugin of routes whose request types come from their TypeBox schemas. */
export type TypedPlugin = FastifyPluginAsync<Record<never, never>, RawServerDefault, TypeBoxProvider>;
