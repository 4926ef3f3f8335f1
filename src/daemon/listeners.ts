import { chmodSync, chownSync, unlinkSync } from 'node:fs';
import type https from 'node:https';
import net from 'node:net';
import { dirname } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { distinguishedName, dnAllowed } from '../api/access.js';
import type { ListenerOptions } from '../api/app.js';
import { FerryError } from '../errors/ferry-error.js';
import { readonlySocketOf } from '../transport/connection-uri.js';
import { loadTlsMaterial } from '../transport/tls-material.js';
import { splitHostPort } from '../transport/host-port.js';
import type { DaemonConfig } from './config.js';
import { ensureDirectory } from './state-directories.js';
import { FdBudget } from './fd-budget.js';
import { limitedServer } from './limited-server.js';
import { groupId } from '../system/unix-group.js';

export interface Listeners {
  /** The read-write unix socket's app (the one tests inject into). */
  main: FastifyInstance;
  all: FastifyInstance[];
  close(): Promise<void>;
}

/**
 * Opens ferryd's doors, each with its own access rules (api/access.ts):
 * the read-write socket (root and unix_sock_group), the read-only socket
 * (anyone, queries only), the TLS listener (listen: mutual TLS with the
 * cluster CA; the CLI from elsewhere and the peer API) and, only when
 * configured, the unauthenticated TCP listener (listen_tcp).
 */
export async function openListeners(config: DaemonConfig, build: (o: ListenerOptions) => FastifyInstance, log: Logger): Promise<Listeners> {
  const all: FastifyInstance[] = [];
  const budget = new FdBudget();
  const caps = connectionCaps(config, budget.limit);
  log.info({ fdLimit: budget.limit, ...caps }, 'connection limits');
  const timeouts = { headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, handshakeTimeoutMs: 10_000 };
  const serverFor = (name: string, limits: { maxClients: number; maxAnonymous?: number; reserveFds: number }, tls?: https.ServerOptions) =>
    limitedServer({ name, limits: { ...timeouts, ...limits }, budget, log, ...(tls ? { tls } : {}) });
  const close = async (): Promise<void> => {
    await Promise.all(all.map((a) => a.close()));
  };
  try {
    ensureDirectory(dirname(config.socket), 'socket directory', 0o755);
    await claimSocket(config.socket);
    const roPath = config.socketRo || readonlySocketOf(config.socket);
    const ro = build({ kind: 'unix-ro', serverFactory: serverFor('unix-ro', { maxClients: caps.readonly, reserveFds: caps.reserve }) });
    all.push(ro);
    await claimSocket(roPath);
    await ro.listen({ path: roPath });
    chmodSync(roPath, config.unixSockRoPerms);

    if (config.listen) {
      const { host, port } = splitHostPort(config.listen, 'listen');
      const m = loadTlsMaterial(config.tlsDir, 'server');
      const tls = build({
        kind: 'tls',
        serverFactory: serverFor(
          'tls',
          { maxClients: caps.clients, maxAnonymous: caps.anonymous, reserveFds: caps.reserve },
          { key: m.key, cert: m.cert, ca: m.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
        ),
      });
      all.push(tls);
      tls.server.on('secureConnection', (socket: TLSSocket) => {
        const cert = socket.getPeerCertificate();
        const dn = cert?.subject ? distinguishedName(cert.subject as unknown as Record<string, string | string[]>) : '';
        if (!dnAllowed(dn, config.tlsAllowedDnList)) {
          log.warn({ dn, remote: socket.remoteAddress }, 'TLS client refused: its certificate is not in tls_allowed_dn_list');
          socket.destroy();
        }
      });
      tls.server.on('tlsClientError', (err: Error, socket: TLSSocket) => log.info({ err: err.message, remote: socket.remoteAddress }, 'TLS client refused'));
      await tls.listen({ host, port });
      log.info({ listen: config.listen, tlsDir: config.tlsDir }, 'TLS listener (mutual TLS) ready');
    }
    if (config.listenTcp) {
      const { host, port } = splitHostPort(config.listenTcp, 'listen_tcp');
      const tcp = build({ kind: 'tcp', serverFactory: serverFor('tcp', { maxClients: caps.clients, reserveFds: caps.reserve }) });
      all.push(tcp);
      await tcp.listen({ host, port });
      log.warn({ listenTcp: config.listenTcp }, 'plain TCP listener with NO authentication: anyone who reaches it controls this host');
    }
    // The read-write socket opens last: once it answers, every listener is up (tests and scripts wait on it).
    // Root's socket keeps working after the others stop for want of descriptors: it needs only a few kept for QEMU.
    const main = build({ kind: 'unix', serverFactory: serverFor('unix', { maxClients: caps.clients, reserveFds: caps.qemuReserve }) });
    all.push(main);
    await main.listen({ path: config.socket });
    secureSocket(config.socket, config.unixSockRwPerms, config.unixSockGroup, log);

    return { main, all, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Each listener's client cap, within the descriptor limit: the read-only
 * socket (anyone) and the TLS listener's unfinished handshakes (anyone on the
 * network) are bounded first; descriptors beyond `reserve` stay for ferryd
 * (QEMU's monitors, the store, logs, lockd, peers) and for root's socket,
 * which may go down to `qemuReserve`.
 */
export function connectionCaps(config: Pick<DaemonConfig, 'maxClients' | 'maxAnonymousClients' | 'maxReadonlyClients'>, fdLimit: number) {
  const reserve = Math.max(128, Math.floor(fdLimit / 8));
  const budget = Math.max(16, fdLimit - reserve);
  const readonly = Math.min(config.maxReadonlyClients, Math.max(1, Math.floor(budget / 4)));
  const anonymous = Math.min(config.maxAnonymousClients, Math.max(1, Math.floor(budget / 16)));
  const clients = Math.min(config.maxClients, Math.max(1, Math.floor((budget - readonly - anonymous) / 2)));
  return { readonly, anonymous, clients, reserve, qemuReserve: 32 };
}

/** The read-write socket: root and, when the group exists, unix_sock_group (the seed's libvirt group). */
function secureSocket(path: string, mode: number, group: string, log: Logger): void {
  chmodSync(path, mode);
  if (!group || process.getuid?.() !== 0) return;
  const gid = groupId(group);
  if (gid === undefined) {
    log.info({ group }, 'unix_sock_group does not exist: the socket is for root only (groupadd it to share)');
    return;
  }
  chownSync(path, 0, gid);
}

/** Refuses to start when another ferryd answers on the socket; removes a stale socket file. */
async function claimSocket(path: string): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const s = net.createConnection({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) {
    throw new FerryError('CONFIG_INVALID', `another ferryd is already listening on ${path}`, {
      hint: 'Stop it first, or give this one its own --socket and --state-dir',
    });
  }
  try {
    unlinkSync(path);
  } catch {
    // no stale socket
  }
}
