import { FerryError } from '../errors/ferry-error.js';

export type Transport = 'unix' | 'ssh' | 'tls' | 'tcp';

/**
 * A parsed connection URI, virsh's forms: ferry:///system,
 * ferry:///system?socket=/path, ferry+ssh://[user@]host[:port]/system,
 * ferry+tls://host[:port]/system, ferry+tcp://host[:port]/system, with qemu
 * spellings as aliases. Used by the CLI (-c) and by ferryd for its peers (a
 * migration's DESTURI).
 */
export interface ConnectionTarget {
  uri: string;
  transport: Transport;
  /** unix: the daemon's socket here; ssh: the daemon's socket on the remote host. */
  socket: string;
  /** True when the URI named the socket (?socket=). */
  socketGiven: boolean;
  host?: string;
  port?: number;
  user?: string;
  instance: 'system' | 'session';
  /** tls: the directory with ca-cert.pem, client-cert.pem, client-key.pem (libvirt's ?pkipath=). */
  pkiPath?: string;
  /** ssh: the private key (?keyfile=), the known_hosts file (?known_hosts=), no host key check (?no_verify=1). */
  keyFile?: string;
  knownHosts?: string;
  noVerify?: boolean;
}

export const SYSTEM_SOCKET = '/run/ferry/ferryd.sock';
/** ferry+tls:// without a port. */
export const DEFAULT_TLS_PORT = 16520;
/** ferry+tcp:// without a port (the insecure listener, off unless listen_tcp is set). */
export const DEFAULT_TCP_PORT = 16519;

const SCHEMES: Record<string, Transport> = {
  ferry: 'unix',
  'ferry+unix': 'unix',
  qemu: 'unix',
  'qemu+unix': 'unix',
  'ferry+ssh': 'ssh',
  'qemu+ssh': 'ssh',
  'ferry+libssh': 'ssh',
  'qemu+libssh': 'ssh',
  'ferry+tls': 'tls',
  'qemu+tls': 'tls',
  'ferry+tcp': 'tcp',
  'qemu+tcp': 'tcp',
};

/** The read-only socket that sits beside a daemon's socket (libvirt's libvirt-sock-ro). */
export function readonlySocketOf(socket: string): string {
  return socket.endsWith('.sock') ? `${socket.slice(0, -5)}-ro.sock` : `${socket}-ro`;
}

export function parseConnectionUri(uri: string, options: { sessionSocket?: () => string } = {}): ConnectionTarget {
  const m = /^([a-z+]+):\/\/(?:([^@/]*)@)?(\[[^\]]+\]|[^/:?]*)(?::(\d+))?(\/[^?]*)?(?:\?(.*))?$/.exec(uri.trim());
  const transport = m ? SCHEMES[m[1] as string] : undefined;
  if (!m || !transport) {
    throw new FerryError('URI_INVALID', `unsupported connection URI '${uri}'`, { details: { uri } });
  }
  const [, , user, rawHost, port, path, query] = m;
  const host = rawHost?.replace(/^\[|\]$/g, '');
  const instance = path === '/session' ? 'session' : path === '/system' || path === undefined || path === '/' ? 'system' : undefined;
  if (!instance) throw new FerryError('URI_INVALID', `unexpected QEMU URI path '${path}', try ferry:///system`, { details: { uri } });
  const params = new URLSearchParams(query ?? '');
  const socketParam = params.get('socket');
  const socket = socketParam ?? (instance === 'session' && options.sessionSocket ? options.sessionSocket() : SYSTEM_SOCKET);
  if (transport === 'unix' && host) {
    throw new FerryError('URI_INVALID', `the unix transport takes no host ('${host}'): use ferry+ssh://${host}/system or ferry+tls://${host}/system`, {
      details: { uri },
    });
  }
  if (transport !== 'unix' && !host) throw new FerryError('URI_INVALID', `the ${transport} transport needs a host in '${uri}'`, { details: { uri } });
  const target: ConnectionTarget = { uri, transport, socket, socketGiven: socketParam !== null, instance };
  if (host) target.host = host;
  if (port) target.port = Number(port);
  else if (transport === 'tls') target.port = DEFAULT_TLS_PORT;
  else if (transport === 'tcp') target.port = DEFAULT_TCP_PORT;
  if (user) target.user = decodeURIComponent(user);
  const pki = params.get('pkipath');
  if (pki) target.pkiPath = pki;
  const keyFile = params.get('keyfile');
  if (keyFile) target.keyFile = keyFile;
  const knownHosts = params.get('known_hosts');
  if (knownHosts) target.knownHosts = knownHosts;
  if (params.get('no_verify') === '1') target.noVerify = true;
  return target;
}

/** host:port or the socket, for messages. */
export function describeTarget(t: ConnectionTarget): string {
  switch (t.transport) {
    case 'unix':
      return t.socket;
    case 'ssh':
      return `${t.user ? `${t.user}@` : ''}${t.host}${t.port ? `:${t.port}` : ''} (ssh, ${t.socket})`;
    default:
      return `${t.host}:${t.port}`;
  }
}
