import type { FastifyInstance } from 'fastify';
import type { PeerCall, PeerInput, PeerReply } from '../../shared/peer-protocol/peer-calls.js';

/**
 * Registers the route that answers one call of the peer protocol: its method
 * and path, and its schemas (path parameters, query, body: validated; reply:
 * documented) all come from the call's entry in PEER, which the calling
 * PeerClient uses too. The handler gets the validated input, typed.
 */
export function peerRoute<C extends PeerCall>(app: FastifyInstance, call: C, handler: (input: PeerInput<C>) => Promise<PeerReply<C>>): void {
  app.route({
    method: call.method,
    url: call.path,
    schema: {
      ...(call.params ? { params: call.params } : {}),
      ...(call.query ? { querystring: call.query } : {}),
      ...(call.body ? { body: call.body } : {}),
      response: { 200: call.response },
    },
    handler: async (req) => handler({ params: req.params, query: req.query, body: req.body } as PeerInput<C>),
  });
}
