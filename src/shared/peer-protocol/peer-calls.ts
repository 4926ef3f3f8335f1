/**
 * Every daemon-to-daemon call, in one table: its method and path, and the
 * schemas of its path parameters, query, body and reply. The peer client
 * calls through it (PeerClient.call(PEER.prepare, …)), the API registers the
 * peer routes from it (api/routes/peer-*.ts) with the same schemas for
 * validation: the two ends share one source of paths and types.
 *
 * It lives in shared/ because every layer that calls a peer imports it:
 * locking (lock-clear asks the other hosts), preflight, migration, and
 * api/routes, which answers. It does no I/O.
 */
import type { Static, TObject, TSchema } from '@sinclair/typebox';
import { holderQuerySchema, holderReplySchema } from './lock-messages.js';
import {
  doneSchema,
  finishReplySchema,
  finishRequestSchema,
  migrationIdParams,
  prepareReplySchema,
  prepareRequestSchema,
  recoverReplySchema,
  statusReplySchema,
} from './migration-messages.js';
import { preflightBodySchema, preflightReplySchema } from './preflight-messages.js';

/** Where the peer API is served. */
export const PEER_PREFIX = '/peer/v1';

/** One call of the peer API. */
export interface PeerCall {
  readonly name: string;
  readonly method: 'GET' | 'POST';
  /** The route's pattern, prefix included: `:name` segments come from `params`. */
  readonly path: string;
  readonly params?: TObject;
  readonly query?: TObject;
  readonly body?: TSchema;
  readonly response: TSchema;
}

export const PEER = {
  /** The source asks the destination to prepare an incoming migration (Prepare). */
  prepare: { name: 'prepare', method: 'POST', path: `${PEER_PREFIX}/migrations/prepare`, body: prepareRequestSchema, response: prepareReplySchema },
  /** The switch: the destination takes the leases, keeps the definition and runs the domain (Finish). */
  finish: {
    name: 'finish',
    method: 'POST',
    path: `${PEER_PREFIX}/migrations/:id/finish`,
    params: migrationIdParams,
    body: finishRequestSchema,
    response: finishReplySchema,
  },
  /** The source gave up: the destination drops its half. */
  abort: { name: 'abort', method: 'POST', path: `${PEER_PREFIX}/migrations/:id/abort`, params: migrationIdParams, response: doneSchema },
  /** Post-copy broke: the destination's QEMU listens again on a fresh port, for the source to resume (migrate-recover). */
  postcopyRecover: {
    name: 'postcopyRecover',
    method: 'POST',
    path: `${PEER_PREFIX}/migrations/:id/postcopy-recover`,
    params: migrationIdParams,
    response: recoverReplySchema,
  },
  /** A migration's phase on the other side (recovery after a restart, rollback). */
  status: { name: 'status', method: 'GET', path: `${PEER_PREFIX}/migrations/:id`, params: migrationIdParams, response: statusReplySchema },
  /** The destination's half of the pre-flight checks (migrate-check, and migrate before it starts). */
  preflight: { name: 'preflight', method: 'POST', path: `${PEER_PREFIX}/preflight`, body: preflightBodySchema, response: preflightReplySchema },
  /** lock-clear's question to the other hosts: do you hold this resource? */
  lockHolder: { name: 'lockHolder', method: 'GET', path: `${PEER_PREFIX}/locks/holder`, query: holderQuerySchema, response: holderReplySchema },
} as const satisfies Record<string, PeerCall>;

/** What a caller passes: the path parameters, query and body the call declares, typed by their schemas. */
export type PeerInput<C extends PeerCall> = (C extends { params: infer P extends TSchema } ? { params: Static<P> } : { params?: never }) &
  (C extends { query: infer Q extends TSchema } ? { query: Static<Q> } : { query?: never }) &
  (C extends { body: infer B extends TSchema } ? { body: Static<B> } : { body?: never });

/** What a call answers. */
export type PeerReply<C extends PeerCall> = Static<C['response']>;

/**
 * The URL of a call: the path with its parameters filled in (encoded), and
 * the query (encodeURIComponent, as the callers wrote it before the table).
 */
export function peerUrl(call: PeerCall, input: { params?: Record<string, unknown>; query?: Record<string, unknown> }): string {
  const path = call.path.replace(/:([A-Za-z]+)/g, (_m, name: string) => {
    const value = input.params?.[name];
    if (typeof value !== 'string' || value === '') throw new TypeError(`peer call ${call.name}: missing path parameter ${name}`);
    return encodeURIComponent(value);
  });
  const query = Object.entries(input.query ?? {}).filter(([, v]) => v !== undefined);
  return query.length === 0 ? path : `${path}?${query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&')}`;
}
