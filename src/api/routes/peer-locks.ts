import type { FastifyPluginAsync } from 'fastify';
import type { LockService } from '../../host/lock-service.js';
import { PEER } from '../../shared/peer-protocol/peer-calls.js';
import { peerRoute } from './peer-route.js';

/** The peer API's question: does this host hold a resource, or run a domain whose disk it protects? */
export function peerLockRoutes(locks: LockService): FastifyPluginAsync {
  return async function peerLockRoutesPlugin(app) {
    peerRoute(app, PEER.lockHolder, async ({ query }) => locks.holder(query.resource));
  };
}
