import { type ConnectionTarget, parseConnectionUri } from '../transport/connection-uri.js';

/** Where a peer ferryd's API is, as the source ferryd reaches it: any connection URI (unix, ssh, tls, tcp). */
export type PeerAddress = ConnectionTarget;

/**
 * Reads a migration's DESTURI: ferry:///system?socket=/path (another ferryd on
 * this machine), ferry+tls://host[:port]/system (mutual TLS with this host's
 * certificate), ferry+ssh://[user@]host/system or qemu+ssh:// (the system ssh
 * client to the destination's socket), ferry+tcp:// (only if the destination
 * enabled listen_tcp).
 */
export function parsePeerUri(uri: string): PeerAddress {
  return parseConnectionUri(uri);
}

/** The host QEMU on the source connects to when the destination names none: the URI's host, or loopback for a local socket. */
export function migrationHostOf(peer: PeerAddress): string {
  return peer.host ?? '127.0.0.1';
}
