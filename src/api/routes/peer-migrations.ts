import type { FastifyPluginAsync } from 'fastify';
import type { MigrationService } from '../../migration/migration-service.js';
import { PEER } from '../../shared/peer-protocol/peer-calls.js';
import { peerRoute } from './peer-route.js';

/** The peer API another ferryd calls to migrate a domain here (the destination side of the protocol), and recovery's status question. */
export function peerMigrationRoutes(migrations: MigrationService): FastifyPluginAsync {
  return async function peerMigrationRoutesPlugin(app) {
    peerRoute(app, PEER.prepare, async ({ body }) => migrations.prepareIncoming(body.cookie));
    // The wire lets a source leave persistentXml out; the destination reads absent as null (it only tests it for a value).
    peerRoute(app, PEER.finish, async ({ params, body }) => migrations.finishIncoming(params.id, { ...body, persistentXml: body.persistentXml ?? null }));
    peerRoute(app, PEER.abort, async ({ params }) => {
      await migrations.abortIncoming(params.id);
      return {};
    });
    peerRoute(app, PEER.status, async ({ params }) => migrations.peerStatus(params.id));
    peerRoute(app, PEER.postcopyRecover, async ({ params }) => migrations.recoverIncoming(params.id));
  };
}
