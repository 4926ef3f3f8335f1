import { FerryError } from '../errors/ferry-error.js';

/** Where a peer ferryd's API is, as the source ferryd reaches it. */
export type PeerAddress =
  | { kind: 'unix'; socket: string; uri: string }
  | { kind: 'tcp'; host: string; port: number; uri: string };

export const DEFAULT_PEER_PORT = 16520;

/**
 * Reads a migration's DESTURI: ferry:///system?socket=/path (another ferryd on
 * this machine), ferry+tcp://host[:port]/system or qemu+tcp://... (the
 * destination's --listen address). ssh and tls come with the transports release.
 */
export function parsePeerUri(uri: string): PeerAddress {
  const m = /^([a-z+]+):\/\/(?:[^@/]*@)?([^/:?]*)(?::(\d+))?(\/[^?]*)?(?:\?(.*))?$/.exec(uri.trim());
  if (!m) throw new FerryError('URI_INVALID', `invalid destination URI '${uri}'`);
  const [, scheme, host, port, , query] = m;
  const params = new URLSearchParams(query ?? '');
  if ((scheme === 'ferry' || scheme === 'qemu' || scheme === 'ferry+unix' || scheme === 'qemu+unix') && !host) {
    const socket = params.get('socket') ?? '/run/ferry/ferryd.sock';
    return { kind: 'unix', socket, uri };
  }
  if (scheme === 'ferry+tcp' || scheme === 'qemu+tcp') {
    if (!host) throw new FerryError('URI_INVALID', `destination URI '${uri}' needs a host`);
    return { kind: 'tcp', host, port: port ? Number(port) : DEFAULT_PEER_PORT, uri };
  }
  if (/\+(ssh|tls)$/.test(scheme ?? '')) {
    throw new FerryError('TRANSPORT_UNSUPPORTED', `the ${scheme} transport (${uri}) is not available in this release`, {
      hint: 'Use ferry+tcp://HOST:PORT/system with the destination ferryd started with --listen HOST:PORT',
    });
  }
  throw new FerryError('URI_INVALID', `unsupported destination URI '${uri}'`);
}

/** The host QEMU on the source should connect to for the migration stream. */
export function migrationHostOf(peer: PeerAddress): string {
  return peer.kind === 'tcp' ? peer.host : '127.0.0.1';
}
