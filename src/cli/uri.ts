import os from 'node:os';
import { join } from 'node:path';
import { FerryError } from '../errors/ferry-error.js';

export type Transport = 'unix' | 'ssh' | 'tls' | 'tcp';

/** A parsed connection URI (virsh's -c/--connect). */
export interface ConnectionTarget {
  uri: string;
  transport: Transport;
  /** unix: the daemon's socket on this machine, or on the remote host for ssh. */
  socket: string;
  host?: string;
  port?: number;
  user?: string;
  instance: 'system' | 'session';
}

export const SYSTEM_SOCKET = '/run/ferry/ferryd.sock';

export function sessionSocket(): string {
  const runtime = process.env.XDG_RUNTIME_DIR ?? join(os.homedir(), '.cache');
  return join(runtime, 'ferry', 'ferryd.sock');
}

/** The URI to use when none is given: FERRY_DEFAULT_URI, else the system daemon for root and the session one otherwise. */
export function defaultUri(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FERRY_DEFAULT_URI) return env.FERRY_DEFAULT_URI;
  return process.getuid?.() === 0 ? 'ferry:///system' : 'ferry:///session';
}

const SCHEMES: Record<string, Transport> = {
  ferry: 'unix', 'ferry+unix': 'unix', qemu: 'unix', 'qemu+unix': 'unix',
  'ferry+ssh': 'ssh', 'qemu+ssh': 'ssh',
  'ferry+tls': 'tls', 'qemu+tls': 'tls',
  'ferry+tcp': 'tcp', 'qemu+tcp': 'tcp',
};

/**
 * Parses ferry:///system, ferry:///session, ferry:///system?socket=/path and
 * their remote forms (ferry+ssh://user@host/system, ferry+tls://host:16520/system);
 * qemu:// spellings are accepted as aliases so virsh command lines work unchanged.
 */
export function parseUri(uri: string): ConnectionTarget {
  const m = /^([a-z+]+):\/\/(?:([^@/]*)@)?([^/:?]*)(?::(\d+))?(\/[^?]*)?(?:\?(.*))?$/.exec(uri.trim());
  const transport = m ? SCHEMES[m[1] as string] : undefined;
  if (!m || !transport) {
    throw new FerryError('URI_INVALID', `unsupported connection URI '${uri}'`, { details: { uri } });
  }
  const [, , user, host, port, path, query] = m;
  const instance = path === '/session' ? 'session' : path === '/system' || path === undefined || path === '/' ? 'system' : undefined;
  if (!instance) throw new FerryError('URI_INVALID', `unexpected QEMU URI path '${path}', try ferry:///system`, { details: { uri } });
  const params = new URLSearchParams(query ?? '');
  const socket = params.get('socket') ?? (instance === 'system' ? SYSTEM_SOCKET : sessionSocket());
  if (transport === 'unix' && host) {
    throw new FerryError('URI_INVALID', `the unix transport takes no host ('${host}'): use ferry+ssh://${host}/system or ferry+tls://${host}/system`, { details: { uri } });
  }
  if (transport !== 'unix' && !host) throw new FerryError('URI_INVALID', `the ${transport} transport needs a host in '${uri}'`, { details: { uri } });
  const target: ConnectionTarget = { uri, transport, socket, instance };
  if (host) target.host = host;
  if (port) target.port = Number(port);
  if (user) target.user = user;
  return target;
}
