import type { FastifyPluginAsync } from 'fastify';
import { type DestinationCheckDeps, runDestinationChecks } from '../../preflight/destination-checks.js';
import { PEER } from '../../shared/peer-protocol/peer-calls.js';
import { peerRoute } from './peer-route.js';

/** The destination's half of the pre-flight checks (the peer API's). */
export function peerPreflightRoutes(deps: DestinationCheckDeps): FastifyPluginAsync {
  return async function peerPreflightRoutesPlugin(app) {
    peerRoute(app, PEER.preflight, async ({ body }) => runDestinationChecks(body.request, deps));
  };
}
