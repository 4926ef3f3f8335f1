import { child, type XmlElement } from '../shared/xml.js';
import type { DiskAuth, DiskSource } from './definition.js';
import { parseNetworkSource, renderDiskSource } from './devices/disk.js';
import { AUTH_RULE, parseAuth, renderAuth } from './devices/disk-secrets.js';
import type { ElementRule } from './schema/element-rule.js';
import { xmlInvalid, xmlUnsupported } from './xml-errors.js';

/** The protocols an NVRAM on network storage may use (libvirt's: QEMU's pflash over an nbd or iscsi node). */
export const NVRAM_NETWORK_PROTOCOLS = ['nbd', 'iscsi'] as const;

/**
 * <nvram type='network'><source protocol='nbd|iscsi' name=...><host/><auth/></source>:
 * a variable store on shared network storage that QEMU opens itself. ferry
 * never creates it from a template, never copies it in a migration and never
 * deletes it (undefine --nvram), as libvirt: it is shared, and so is not ferry's.
 */
export interface NvramNetwork {
  /** The same source as a network disk's (src/vm/devices/disk.ts parses and renders both). */
  source: DiskSource;
  /** iSCSI CHAP credentials from the secret store, as a disk's <auth>. */
  auth?: DiskAuth;
}

/** The rule of <nvram>'s <source> for type='file' and type='network'. */
export const NVRAM_SOURCE_RULE: ElementRule = {
  attrs: { file: true, protocol: NVRAM_NETWORK_PROTOCOLS, name: true },
  children: {
    host: { attrs: { name: true, port: true, transport: ['tcp', 'unix'], socket: true } },
    auth: AUTH_RULE,
  },
};

/** The label secrets and messages use for the NVRAM (a disk's would be its target dev). */
export const NVRAM_LABEL = 'nvram';

export function parseNvramNetwork(nvram: XmlElement): NvramNetwork {
  const source = child(nvram, 'source');
  if (!source) throw xmlInvalid('nvram', "<nvram type='network'> needs a <source protocol=...>");
  const protocol = source.attrs.protocol ?? '';
  if (!(NVRAM_NETWORK_PROTOCOLS as readonly string[]).includes(protocol)) {
    throw xmlUnsupported('source', `protocol '${protocol}' is not supported for <nvram type='network'> (use 'nbd' or 'iscsi')`);
  }
  const out: NvramNetwork = { source: parseNetworkSource(source) };
  const auth = child(source, 'auth');
  if (auth) {
    if (protocol !== 'iscsi') throw xmlInvalid('auth', `<nvram>: <auth> is for iscsi sources, not protocol '${protocol}'`);
    out.auth = parseAuth(auth, NVRAM_LABEL, false);
    if (out.auth.secret.type !== 'iscsi') throw xmlInvalid('secret', "<nvram>: an iscsi source's <auth> secret has type='iscsi'");
  }
  return out;
}

export function renderNvramNetworkSource(n: NvramNetwork): XmlElement {
  const source = renderDiskSource('network', n.source) as XmlElement;
  return n.auth ? { ...source, children: [...source.children, renderAuth(n.auth)] } : source;
}

/** How a network NVRAM is shown in messages: nbd://host:port/export, iscsi://host:port/iqn. */
export function describeNvramNetwork(n: NvramNetwork): string {
  const h = n.source.hosts?.[0];
  const where = h?.socket ? `unix:${h.socket}` : `${h?.name ?? ''}${h?.port === undefined ? '' : `:${h.port}`}`;
  return `${n.source.protocol ?? ''}://${where}${n.source.name ? `/${n.source.name}` : ''}`;
}
