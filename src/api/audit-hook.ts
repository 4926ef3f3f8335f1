import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AuditStore } from '../store/audit-store.js';
import type { PeerCredentialReader, PeerCredentials } from '../system/peer-credentials.js';
import { distinguishedName, type ListenerKind } from './access.js';

/** What the audit hook needs: where records go, how to read a unix caller's credentials, and how to name a domain reference. */
export interface AuditDeps {
  store: AuditStore;
  credentials: PeerCredentialReader;
  /** A domain reference (name, id or uuid) as name and uuid; undefined when there is no such domain. */
  domainOf(ref: string): { name: string; uuid: string } | undefined;
  /** The domain a migration (by id) moves, for the peer API's calls; undefined when this host has no record of it. */
  migrationDomainOf?(id: string): { name: string; uuid: string } | undefined;
  now?: () => number;
}

interface Pending {
  /** Written already (onSend, before the reply leaves: a caller that asks for the trail next finds it). */
  written: boolean;
  started: number;
  cred: PeerCredentials | undefined;
  domain: { name: string; uuid: string } | undefined;
  errorCode: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    ferryAudit: Pending | null;
  }
}

/** Requests that only read are not recorded (libvirt audits what changes state). */
const isReadOnly = (method: string): boolean => method === 'GET' || method === 'HEAD' || method === 'OPTIONS';

/**
 * Records every state-changing call on this listener (docs/audit.md): the
 * caller's uid/gid (unix peer credentials) or certificate DN, where it came
 * from, the operation with its domain and options, and its outcome. Refused
 * calls (read-only connections, bad input) are recorded too. A failure to
 * write the record is logged and never fails the call.
 */
export function recordAudit(app: FastifyInstance, kind: ListenerKind, deps: AuditDeps, log: Logger): void {
  const now = deps.now ?? Date.now;
  const creds = new WeakMap<Socket, PeerCredentials | undefined>();
  app.decorateRequest('ferryAudit', null);
  app.addHook('onRequest', async (request) => {
    if (isReadOnly(request.method)) return;
    let cred: PeerCredentials | undefined;
    if (kind === 'unix' || kind === 'unix-ro') {
      const socket = request.raw.socket;
      if (!creds.has(socket))
        creds.set(
          socket,
          safely(() => deps.credentials.read(socket)),
        );
      cred = creds.get(socket);
    }
    request.ferryAudit = { written: false, started: now(), cred, domain: undefined, errorCode: null };
  });
  app.addHook('preHandler', async (request) => {
    const a = request.ferryAudit;
    const ref = (request.params as Record<string, string> | undefined)?.ref;
    if (a && ref && request.routeOptions.url?.includes('/domains/:ref')) a.domain = safely(() => deps.domainOf(ref));
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const a = request.ferryAudit;
    if (!a) return payload;
    if (typeof payload === 'string') {
      const body = safely(() => JSON.parse(payload) as { error?: { code?: string }; domain?: { name?: string; uuid?: string } });
      if (reply.statusCode >= 400) a.errorCode = body?.error?.code ?? `HTTP_${reply.statusCode}`;
      if (!a.domain && typeof body?.domain?.name === 'string' && typeof body.domain.uuid === 'string')
        a.domain = { name: body.domain.name, uuid: body.domain.uuid };
    }
    write(request, reply.statusCode);
    return payload;
  });
  // A reply that never went through onSend (a hijacked connection, one that broke first) is recorded when it ends.
  app.addHook('onResponse', async (request, reply) => write(request, reply.statusCode));

  function write(request: FastifyRequest, statusCode: number): void {
    const a = request.ferryAudit;
    if (!a || a.written) return;
    a.written = true;
    try {
      const route = request.routeOptions.url ?? request.url.split('?')[0] ?? '';
      const params = (request.params ?? {}) as Record<string, string>;
      const body = request.body as Record<string, unknown> | undefined;
      // A call refused before its handler (read-only, bad input) names its domain here.
      const looked = !a.domain && params.ref && route.includes('/domains/:ref') ? safely(() => deps.domainOf(params.ref as string)) : undefined;
      const cookie = isObject(body) && isObject(body.cookie) ? body.cookie : undefined;
      const migrated = params.id && route.includes('/migrations/:id') ? safely(() => deps.migrationDomainOf?.(params.id as string)) : undefined;
      const domain = a.domain ?? looked ?? migrated ?? cookieDomain(cookie) ?? nameInXml(body) ?? (params.ref ? { name: params.ref, uuid: null } : undefined);
      deps.store.append({
        at: now(),
        listener: kind,
        uid: a.cred?.uid ?? null,
        gid: a.cred?.gid ?? null,
        pid: a.cred?.pid ?? null,
        dn: kind === 'tls' ? dnOf(request) : null,
        origin: originOf(kind, request),
        method: request.method,
        route,
        operation: operationOf(request.method, route, params),
        domainName: domain?.name ?? null,
        domainUuid: domain?.uuid ?? null,
        options: auditOptions({
          ...paramsBesideRef(params),
          ...((request.query ?? {}) as Record<string, unknown>),
          ...(isObject(body) ? body : {}),
          // An incoming migration's cookie is withheld (it holds the definition); its id and flags are what an auditor asks for.
          ...(cookie ? { migrationId: cookie.migrationId, flags: cookie.flags } : {}),
        }),
        outcome: statusCode < 400 && a.errorCode === null ? 'ok' : 'error',
        errorCode: a.errorCode,
        durationMs: now() - a.started,
      });
    } catch (err) {
      log.error({ err, url: request.url }, 'could not write the audit record');
    }
  }
}

/**
 * The operation in virsh's words where the route says it: define, undefine,
 * start, pool-build, net-destroy, vol-delete, secret-set-value, ...; peer
 * API calls get a "peer-" prefix.
 */
export function operationOf(method: string, route: string, params: Record<string, string>): string {
  const peer = route.startsWith('/peer/');
  const segs = route
    .replace(/^\/(peer\/)?v1\//, '')
    .split('/')
    .filter(Boolean);
  const [resource = '', ...rest] = segs;
  const prefix =
    ({ pools: 'pool-', networks: 'net-', secrets: 'secret-', migrations: 'migration-', locks: 'lock-' } as Record<string, string>)[resource] ??
    (resource === 'domains' ? '' : `${resource}-`);
  const words = rest.map((s) => (s === ':action' ? (params.action ?? 'action') : s.startsWith(':') ? '' : s)).filter(Boolean);
  let verb: string;
  if (resource === 'pools' && words[0] === 'volumes') verb = `vol-${method === 'DELETE' ? 'delete' : method === 'POST' ? 'create' : 'update'}`;
  else if (words.length === 0) verb = `${prefix}${method === 'DELETE' ? 'undefine' : method === 'POST' ? 'define' : 'update'}`;
  else verb = `${prefix}${method === 'DELETE' ? 'delete-' : ''}${words.join('-')}`;
  if (resource === 'secrets' && words[0] === 'value') verb = method === 'PUT' ? 'secret-set-value' : 'secret-get-value';
  return peer ? `peer-${verb}` : verb;
}

/** Keys whose values never go into the audit trail (definitions are large, secrets are secret). */
const WITHHELD = /^(xml|persistentXml|liveXml|value|cookie|tpmState|nvram|password|passwd|secret|key)$/i;

/** The options worth keeping: scalars and small objects; long strings, definitions and secrets replaced by a marker. */
export function auditOptions(input: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined) continue;
    if (WITHHELD.test(k)) out[k] = typeof v === 'string' ? `(${v.length} characters withheld)` : '(withheld)';
    else if (typeof v === 'string') out[k] = v.length > 200 ? `(${v.length} characters)` : v;
    else if (isObject(v)) out[k] = depth < 2 ? auditOptions(v, depth + 1) : '(object)';
    else if (Array.isArray(v))
      out[k] = v.length > 16 ? `(${v.length} items)` : v.map((x) => (isObject(x) ? (depth < 2 ? auditOptions(x, depth + 1) : '(object)') : x));
    else out[k] = v;
  }
  return out;
}

function paramsBesideRef(params: Record<string, string>): Record<string, string> {
  const { ref: _ref, action: _action, ...rest } = params;
  return rest;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function cookieDomain(cookie: Record<string, unknown> | undefined): { name: string; uuid: string } | undefined {
  const d = cookie && isObject(cookie.domain) ? cookie.domain : undefined;
  return d && typeof d.name === 'string' && typeof d.uuid === 'string' ? { name: d.name, uuid: d.uuid } : undefined;
}

/** A failed define/create has no domain record: its name, from the XML it sent. */
function nameInXml(body: Record<string, unknown> | undefined): { name: string; uuid: string | null } | undefined {
  const xml = isObject(body) && typeof body.xml === 'string' ? body.xml : undefined;
  const name = xml ? /<name>\s*([^<]+?)\s*<\/name>/.exec(xml)?.[1] : undefined;
  if (!name) return undefined;
  const uuid = /<uuid>\s*([^<]+?)\s*<\/uuid>/.exec(xml as string)?.[1] ?? null;
  return { name, uuid: uuid?.toLowerCase() ?? null };
}

function originOf(kind: ListenerKind, request: FastifyRequest): string {
  if (kind === 'unix' || kind === 'unix-ro') {
    const address = request.server.server.address();
    return typeof address === 'string' ? address : kind;
  }
  const s = request.raw.socket;
  return s.remoteAddress ? `${s.remoteAddress}:${s.remotePort ?? ''}` : request.ip;
}

function dnOf(request: FastifyRequest): string | null {
  const cert = (request.raw.socket as TLSSocket).getPeerCertificate?.();
  return cert?.subject ? distinguishedName(cert.subject as unknown as Record<string, string | string[]>) : null;
}

function safely<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
