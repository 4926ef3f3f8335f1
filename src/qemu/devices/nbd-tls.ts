import type { DiskDefinition, DiskSource } from '../../vm/definition.js';
import { diskNodeNames } from '../../vm/device-aliases.js';

/** The id of the tls-creds-x509 object of a disk's NBD connection (libvirt's: "obj" + the protocol node + "_tls0"). */
export function nbdTlsObjectId(dev: string): string {
  return `obj${diskNodeNames(dev).file}_tls0`;
}

/** Does this disk's source connect to its NBD server over TLS (<source protocol='nbd' tls='yes'>)? */
export function usesNbdTls(disk: Pick<DiskDefinition, 'type' | 'source'>): boolean {
  return disk.type === 'network' && disk.source.protocol === 'nbd' && disk.source.tls === true;
}

/**
 * The -object of a disk's NBD TLS client credentials, before its -blockdev, as
 * libvirt writes it: tls-creds-x509, endpoint client, the server's certificate
 * verified against ca-cert.pem. `x509Dir`: where this QEMU reads ca-cert.pem,
 * client-cert.pem and client-key.pem.
 */
export function nbdTlsArgs(disk: DiskDefinition, x509Dir: string | undefined): string[] {
  if (!usesNbdTls(disk)) return [];
  if (x509Dir === undefined) throw new TypeError(`disk ${disk.target.dev}: NBD over TLS needs the x509 directory`);
  return [
    '-object',
    JSON.stringify({ 'qom-type': 'tls-creds-x509', id: nbdTlsObjectId(disk.target.dev), dir: x509Dir, endpoint: 'client', 'verify-peer': true }),
  ];
}

/** The NBD protocol node's tls-creds and tls-hostname. */
export function nbdTlsProps(s: DiskSource, dev: string): Record<string, string> {
  if (s.tls !== true) return {};
  return { 'tls-creds': nbdTlsObjectId(dev), ...(s.tlsHostname === undefined ? {} : { 'tls-hostname': s.tlsHostname }) };
}
