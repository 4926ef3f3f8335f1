import type { DiskSource } from '../../vm/definition.js';
import { nbdTlsProps } from './nbd-tls.js';

/**
 * The protocol node (-blockdev) of a network disk source, as libvirt 11 builds it.
 * `sshHostKey`: the SHA-256 (hex) of the ssh server's key, read from <knownHosts> on this host.
 */
export function networkProtocolNode(s: DiskSource, dev: string, sshHostKey?: string): Record<string, unknown> & { driver: string } {
  const host = s.hosts?.[0] ?? { name: '' };
  switch (s.protocol) {
    case 'nbd': {
      const server =
        host.transport === 'unix' || host.socket
          ? { type: 'unix', path: host.socket ?? '' }
          : { type: 'inet', host: host.name, port: String(host.port ?? 10809) };
      return {
        driver: 'nbd',
        server,
        ...(s.name ? { export: s.name } : {}),
        ...nbdTlsProps(s, dev),
        ...(s.reconnectDelay === undefined ? {} : { 'reconnect-delay': s.reconnectDelay }),
      };
    }
    case 'iscsi': {
      const [target, lun] = splitIscsiName(s.name ?? '');
      return { driver: 'iscsi', portal: `${host.name}:${host.port ?? 3260}`, target, lun, transport: 'tcp' };
    }
    case 'gluster': {
      const name = s.name ?? '';
      const slash = name.indexOf('/');
      return {
        driver: 'gluster',
        volume: name.slice(0, slash),
        path: name.slice(slash + 1),
        server: (s.hosts ?? []).map((h) => ({ type: 'inet', host: h.name, port: String(h.port ?? 24007) })),
      };
    }
    case 'rbd':
      return {
        driver: 'rbd',
        ...rbdImage(s.name ?? ''),
        server: (s.hosts ?? []).map((h) => ({ host: h.name, ...(h.port === undefined ? {} : { port: String(h.port) }) })),
      };
    case 'http':
    case 'https':
    case 'ftp':
    case 'ftps': {
      const path = (s.name ?? '').startsWith('/') ? s.name : `/${s.name ?? ''}`;
      const url = `${s.protocol}://${host.name}${host.port === undefined ? '' : `:${host.port}`}${path}${s.query ? `?${s.query}` : ''}`;
      return {
        driver: s.protocol,
        url,
        ...(s.timeoutSeconds === undefined ? {} : { timeout: s.timeoutSeconds }),
        ...(s.readahead === undefined ? {} : { readahead: s.readahead }),
        ...(s.sslVerify === undefined ? {} : { sslverify: s.sslVerify }),
      };
    }
    case 'ssh': {
      // QEMU's ssh driver: the login's user, and the server's key checked against the hash of <knownHosts>'s entry
      // (QEMU cannot read another known_hosts file; without <knownHosts> it checks its user's own, as with libvirt).
      if (s.knownHosts !== undefined && sshHostKey === undefined) throw new TypeError(`disk ${dev}: the ssh host key from ${s.knownHosts} was not resolved`);
      return {
        driver: 'ssh',
        path: s.name,
        server: { host: host.name, port: String(host.port ?? 22) },
        ...(s.identity?.username === undefined ? {} : { user: s.identity.username }),
        ...(sshHostKey === undefined ? {} : { 'host-key-check': { mode: 'hash', type: 'sha256', hash: sshHostKey } }),
      };
    }
    default:
      throw new TypeError(`disk ${dev} has no usable source`);
  }
}

/** libvirt's rbd name: "pool/image", "pool/namespace/image", either with "@snapshot". */
function rbdImage(name: string): Record<string, string> {
  const [path, snapshot] = name.split('@', 2) as [string, string | undefined];
  const parts = path.split('/');
  const out: Record<string, string> =
    parts.length >= 3
      ? { pool: parts[0] as string, namespace: parts[1] as string, image: parts.slice(2).join('/') }
      : { pool: parts[0] as string, image: parts.slice(1).join('/') };
  if (snapshot !== undefined) out.snapshot = snapshot;
  return out;
}

/** libvirt writes an iSCSI LUN as "<iqn>/<lun>"; the LUN defaults to 0. */
function splitIscsiName(name: string): [string, number] {
  const slash = name.lastIndexOf('/');
  if (slash < 0) return [name, 0];
  const lun = Number(name.slice(slash + 1));
  return Number.isInteger(lun) ? [name.slice(0, slash), lun] : [name, 0];
}
