import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { type Schema, sample } from '../../../test/helpers/schema-sample.js';
import { stubApp } from '../../../test/helpers/stub-app.js';
import { FerryError } from '../../errors/ferry-error.js';
import type { HolderReport } from '../../shared/peer-protocol/lock-messages.js';
import type { MigrationCookie } from '../../migration/cookie.js';
import type { PrepareResult } from '../../migration/destination.js';
import type { FinishRequest } from '../../migration/incoming-switchover.js';
import { PeerClient } from '../../peer/peer-client.js';
import { PEER, type PeerInput, type PeerReply } from '../../shared/peer-protocol/peer-calls.js';
import { parseConnectionUri } from '../../transport/connection-uri.js';
import { endpointFor } from '../../transport/endpoint.js';
import { buildApp } from '../app.js';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Fits<A, B> = [A] extends [B] ? true : false;

/**
 * The migration layer still names some messages itself (migration/destination.ts, cookie.ts): these fail to
 * compile when they drift from the protocol's. A source's FinishRequest and cookie must fit the wire's; the
 * destination reads a missing persistentXml as null (peer-migrations.ts), so its FinishRequest is stricter.
 */
export const typesAgree: [
  Same<PrepareResult, PeerReply<typeof PEER.prepare>>,
  Same<HolderReport, PeerReply<typeof PEER.lockHolder>>,
  Fits<FinishRequest, PeerInput<typeof PEER.finish>['body']>,
  Fits<MigrationCookie, PeerInput<typeof PEER.prepare>['body']['cookie']>,
] = [true, true, true, true];

const calls = Object.values(PEER);

describe('the peer protocol table and the peer routes', () => {
  it("every call of the table has its route, with the call's schemas, and there is no other peer route", async () => {
    const { app, routes } = await stubApp();
    await app.close();
    const peerRoutes = routes.filter((r) => r.url.startsWith('/peer/'));
    assert.deepEqual(peerRoutes.map((r) => `${r.method} ${r.url}`).sort(), calls.map((c) => `${c.method} ${c.path}`).sort());
    for (const c of calls) {
      const r = peerRoutes.find((x) => x.method === c.method && x.url === c.path);
      const s = r?.schema as Record<string, unknown>;
      assert.equal(s.body, 'body' in c ? c.body : undefined, `${c.name} body`);
      assert.equal(s.params, 'params' in c ? c.params : undefined, `${c.name} params`);
      assert.equal(s.querystring, 'query' in c ? c.query : undefined, `${c.name} query`);
      assert.equal((s.response as Record<string, unknown>)[200], c.response, `${c.name} reply`);
    }
  });
});

describe('PeerClient.call() through the real routes (a ferryd API on a unix socket)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-peer-protocol-'));
  const socket = join(dir, 'ferryd.sock');
  const seen: Array<[string, ...unknown[]]> = [];
  const reply = (c: { response: unknown }): unknown => sample(c.response as Schema);
  const record =
    <T>(name: string, value: T) =>
    async (...args: unknown[]): Promise<T> => {
      seen.push([name, ...args]);
      return value;
    };
  const REACHED = 'the destination checks were reached';
  let app: FastifyInstance;
  let peer: PeerClient;

  before(async () => {
    const migrations = {
      prepareIncoming: record('prepareIncoming', reply(PEER.prepare)),
      finishIncoming: record('finishIncoming', reply(PEER.finish)),
      abortIncoming: record('abortIncoming', undefined),
      peerStatus: record('peerStatus', reply(PEER.status)),
    };
    const locks = { holder: record('holder', reply(PEER.lockHolder)) };
    const destination = new Proxy(
      {},
      {
        get: () => {
          throw new FerryError('NOT_SUPPORTED', REACHED);
        },
      },
    );
    app = buildApp({
      service: {} as never,
      migrations: migrations as never,
      locks: locks as never,
      preflight: { service: {} as never, destination: destination as never },
      log: pino({ level: 'silent' }),
    });
    await app.listen({ path: socket });
    peer = new PeerClient(endpointFor(parseConnectionUri(`ferry:///system?socket=${socket}`)), 10_000);
  });
  after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("each call reaches its handler with its input, decoded, and returns the handler's reply", async () => {
    const id = 'a b/c?d';
    const cookie = sample(PEER.prepare.body.properties.cookie as unknown as Schema) as MigrationCookie;
    const finish = sample(PEER.finish.body as unknown as Schema) as FinishRequest;
    const resource = '/var/lib/ferry/a b&c=d+e';
    seen.length = 0;
    assert.deepEqual(await peer.call(PEER.prepare, { body: { cookie } }), reply(PEER.prepare));
    assert.deepEqual(await peer.call(PEER.finish, { params: { id }, body: finish }), reply(PEER.finish));
    assert.deepEqual(await peer.call(PEER.abort, { params: { id } }), {});
    assert.deepEqual(await peer.call(PEER.status, { params: { id } }), reply(PEER.status));
    assert.deepEqual(await peer.call(PEER.lockHolder, { query: { resource } }), reply(PEER.lockHolder));
    assert.deepEqual(seen, [
      ['prepareIncoming', cookie],
      ['finishIncoming', id, finish],
      ['abortIncoming', id],
      ['peerStatus', id],
      ['holder', resource],
    ]);
  });

  it('a Finish without persistentXml is valid on the wire and reaches the destination as null', async () => {
    seen.length = 0;
    await peer.call(PEER.finish, { params: { id: 'm1' }, body: { resume: true, postcopy: false } });
    assert.deepEqual(seen, [['finishIncoming', 'm1', { resume: true, postcopy: false, persistentXml: null }]]);
  });

  it('the pre-flight request the schema describes gets through validation to the destination checks', async () => {
    const request = sample(PEER.preflight.body.properties.request as unknown as Schema) as PeerInput<typeof PEER.preflight>['body']['request'];
    await assert.rejects(peer.call(PEER.preflight, { body: { request } }), (err: FerryError) => err.message === REACHED);
  });

  it("a body the route's schema refuses is refused to the client with the validation error, naming the key", async () => {
    const bad = { resume: true, postcopy: false, unknownKey: 1 } as unknown as FinishRequest;
    const refused = (err: FerryError): boolean => err.code === 'INVALID_ARGUMENT' && /unknownKey/.test(err.message);
    await assert.rejects(peer.call(PEER.finish, { params: { id: 'm1' }, body: bad }), refused);
  });
});
