import { FerryError } from '../errors/ferry-error.js';

/** A TCP migration address: the host (an IPv6 one without brackets) and, when named, the port. */
export interface TcpAddress {
  host: string;
  port?: number;
}

/** tcp:HOST[:PORT] and tcp://HOST[:PORT], HOST an IPv6 address in brackets: the one parser of migration URIs. */
const TCP_URI = /^tcp:(?:\/\/)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?/;

/** The address a tcp: migration URI names, or undefined when it is not one. */
export function parseTcpUri(uri: string | undefined): TcpAddress | undefined {
  const m = uri ? TCP_URI.exec(uri) : null;
  if (!m) return undefined;
  const host = (m[1] as string).replace(/^\[|\]$/g, '');
  return m[2] === undefined ? { host } : { host, port: Number(m[2]) };
}

/** --migrateuri, checked: a tcp: URI or INVALID_ARGUMENT. */
export function parseMigrateUri(uri: string): TcpAddress {
  const a = parseTcpUri(uri);
  if (!a) throw new FerryError('INVALID_ARGUMENT', `invalid argument: unsupported migration URI '${uri}' (use tcp://host[:port])`);
  return a;
}

/** The QEMU form, tcp:HOST:PORT (tcp:[v6]:PORT): the one formatter of migration URIs. */
export function formatTcpUri(host: string, port: number): string {
  return `tcp:${host.includes(':') ? `[${host}]` : host}:${port}`;
}
