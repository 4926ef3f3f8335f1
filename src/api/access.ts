import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FerryError } from '../errors/ferry-error.js';
import { CERT_ROLES, READONLY_HEADER } from '../shared/protocol.js';

/** The ways into ferryd: the local socket, its read-only twin, mutual TLS, and the opt-in plain TCP listener. */
export type ListenerKind = 'unix' | 'unix-ro' | 'tls' | 'tcp';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling and what they may do; set by enforceAccess() before any handler runs. */
    ferryCaller: Caller;
  }
}

/** What a connection may do. */
export interface Caller {
  /** Only queries (GET): virsh -r, the read-only socket, an OU=ferry-readonly certificate. */
  readonly: boolean;
  /** May call the peer API (/peer/v1): the local socket, host certificates, the opt-in TCP listener. */
  peer: boolean;
  /** For messages and logs: "unix", or the certificate's subject. */
  who: string;
}

/**
 * Who is calling, from the listener and, over TLS, the client certificate
 * (already verified against the CA by the TLS layer): OU=ferry-host may do
 * everything including the peer API, OU=ferry-readonly only queries, any other
 * certificate of the CA (OU=ferry-admin) everything but the peer API.
 */
export function callerOf(kind: ListenerKind, request: FastifyRequest): Caller {
  const asked = request.headers[READONLY_HEADER] === '1';
  switch (kind) {
    case 'unix':
      return { readonly: asked, peer: !asked, who: 'unix' };
    case 'unix-ro':
      return { readonly: true, peer: false, who: 'unix (read-only socket)' };
    case 'tcp':
      return { readonly: asked, peer: !asked, who: `tcp ${request.ip}` };
    case 'tls': {
      const cert = (request.raw.socket as TLSSocket).getPeerCertificate?.();
      const ou = cert?.subject?.OU;
      const units = Array.isArray(ou) ? ou : ou ? [ou] : [];
      const who = cert?.subject ? distinguishedName(cert.subject as unknown as Record<string, string | string[]>) : 'no certificate';
      const readonly = asked || units.includes(CERT_ROLES.readonly);
      return { readonly, peer: !readonly && units.includes(CERT_ROLES.host), who };
    }
  }
}

/** A certificate subject as libvirt prints it: C=..,ST=..,L=..,O=..,OU=..,CN=.. */
export function distinguishedName(subject: Record<string, string | string[]>): string {
  const order = ['C', 'ST', 'L', 'O', 'OU', 'CN'];
  const keys = [...order.filter((k) => k in subject), ...Object.keys(subject).filter((k) => !order.includes(k))];
  return keys
    .flatMap((k) => {
      const v = subject[k];
      return (Array.isArray(v) ? v : [v]).map((x) => `${k}=${x}`);
    })
    .join(',');
}

/** libvirt's tls_allowed_dn_list: glob patterns (* and ?) over the whole DN. */
export function dnAllowed(dn: string, patterns: string[]): boolean {
  if (patterns.length === 0) return true;
  return patterns.some((p) =>
    new RegExp(
      `^${p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    ).test(dn),
  );
}

const LIBVIRT_API: Record<string, string> = {
  start: 'virDomainCreate',
  shutdown: 'virDomainShutdown',
  destroy: 'virDomainDestroy',
  reboot: 'virDomainReboot',
  suspend: 'virDomainSuspend',
  resume: 'virDomainResume',
  migrate: 'virDomainMigratePerform3Params',
  'migrate-check': 'virDomainMigrateBegin3Params',
  abort: 'virDomainAbortJob',
  create: 'virDomainCreateXML',
  console: 'virDomainOpenConsole',
  managedsave: 'virDomainManagedSave',
};

/** The operation a refused request stands for, named as libvirt's message would (from the route's pattern and its parameters). */
function operationName(method: string, route: string, params: Record<string, string>): string {
  const tail = route.split('/').filter(Boolean).pop() ?? '';
  const last = tail.startsWith(':') ? (params[tail.slice(1)] ?? tail) : tail;
  if (method === 'DELETE' && route === '/v1/domains/:ref/managedsave') return 'virDomainManagedSaveRemove';
  if (route.startsWith('/v1/domains/') && LIBVIRT_API[last]) return LIBVIRT_API[last] as string;
  if (method === 'POST' && route === '/v1/domains') return 'virDomainDefineXML';
  if (method === 'DELETE' && route === '/v1/domains/:ref') return 'virDomainUndefine';
  return `${method} ${route}`;
}

/**
 * The path as a router that decodes and normalises would see it: percent-
 * decoded (repeatedly), dot segments resolved, slashes collapsed, lower case.
 * Only for requests no route matched, so that their answer (403 or 404)
 * does not depend on which peer routes exist.
 */
export function normalisedPath(url: string): string {
  let path = url.split('?')[0] ?? '';
  for (let i = 0; i < 5; i++) {
    let next: string;
    try {
      next = decodeURIComponent(path);
    } catch {
      break;
    }
    if (next === path) break;
    path = next;
  }
  const out: string[] = [];
  for (const seg of path.replace(/\\/g, '/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg.toLowerCase());
  }
  return `/${out.join('/')}`;
}

/** Who made a request (set for every request by enforceAccess), for the logs of what they did. */
export function callerName(request: FastifyRequest): string {
  return request.ferryCaller?.who ?? 'unknown';
}

/** Is this request for the peer API? Decided on the route the router matched, never on the raw URL. */
export function isPeerRequest(request: FastifyRequest): boolean {
  const route = request.routeOptions.url;
  if (route !== undefined) return route === '/peer' || route.startsWith('/peer/');
  const path = normalisedPath(request.url);
  return path === '/peer' || path.startsWith('/peer/');
}

/**
 * Adds the access checks to an app serving one listener: read-only callers
 * may only query; only hosts may use the peer API. Both are decided on what
 * the router matched (the registered pattern and the method), so an encoded
 * or oddly spelled URL reaches a route only with that route's rules.
 */
export function enforceAccess(app: FastifyInstance, kind: ListenerKind, log: { warn: (o: object, m: string) => void }): void {
  app.decorateRequest('ferryCaller', null as unknown as Caller);
  app.addHook('onRequest', async (request) => {
    const caller = callerOf(kind, request);
    request.ferryCaller = caller;
    const route = request.routeOptions.url;
    if (isPeerRequest(request) && !caller.peer) {
      log.warn({ who: caller.who, url: request.url, route }, 'peer API refused');
      throw new FerryError('ACCESS_DENIED', `operation forbidden: the peer API is for ferry hosts, and this connection (${caller.who}) is not one`, {
        hint: 'Only ferryds with a host certificate (OU=ferry-host, "ferry cert-host-create") may call it',
      });
    }
    if (caller.readonly && request.method !== 'GET' && request.method !== 'HEAD') {
      throw new FerryError(
        'ACCESS_DENIED',
        `operation forbidden: read only access prevents ${operationName(request.method, route ?? normalisedPath(request.url), (request.params ?? {}) as Record<string, string>)}`,
        {
          hint: caller.who.startsWith('unix')
            ? 'Connect without -r/--readonly, as root or a member of the ferry group'
            : 'Use a certificate that is not read-only (ferry cert-client-create NAME without --readonly)',
        },
      );
    }
  });
}
