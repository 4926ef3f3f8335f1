import { parseTcpUri } from './migration-uri.js';

/** True for the any-address forms ('0.0.0.0', '::', empty). */
export function isWildcardAddress(address: string): boolean {
  return address === '' || address === '0.0.0.0' || address === '::' || address === '[::]';
}

/**
 * The host a destination asks sources to send migration data to, libvirt's
 * order: its configured migration_host, else the address it listens on when
 * that is a specific one (--listen-address or migration_address); undefined
 * lets the source use the host of the destination URI.
 */
export function advertisedDataHost(migrationHost: string, listenAddress: string): string | undefined {
  if (migrationHost) return migrationHost;
  return isWildcardAddress(listenAddress) ? undefined : listenAddress.replace(/^\[|\]$/g, '');
}

/** The host from a tcp:host:port / tcp://host:port migration URI, or undefined. */
export function migrateUriHost(uri: string | undefined): string | undefined {
  return parseTcpUri(uri)?.host;
}

/** The port from a tcp:host:port / tcp://host:port migration URI, or undefined when it names none. */
export function migrateUriPort(uri: string | undefined): number | undefined {
  return parseTcpUri(uri)?.port;
}

/** Where the source sends migration data (and NBD traffic): --migrateuri, else what the destination advertised, else the URI's host. */
export function migrationDataHost(o: { migrateUri?: string }, advertised: string | undefined, peerHost: string): string {
  return migrateUriHost(o.migrateUri) ?? advertised ?? peerHost;
}
