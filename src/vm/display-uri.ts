import type { GraphicsDefinition } from './definition.js';
import type { DisplayUri } from '../shared/api-types.js';

function host(address: string | undefined): string {
  // A wildcard listen is reached at the host itself (virsh says localhost).
  if (address === undefined || address === '0.0.0.0' || address === '::') return 'localhost';
  return address.includes(':') ? `[${address}]` : address;
}

/**
 * virsh domdisplay's URIs for a running domain's live displays:
 * vnc://127.0.0.1:0 (the display number), spice://127.0.0.1:5900 (the port,
 * ?tls-port=N), vnc+unix:///path for a socket; with `password`, the
 * password as the URI's user info (vnc://:secret@127.0.0.1:0). A display that
 * listens nowhere (<listen type='none'>) has no URI.
 */
export function displayUris(graphics: readonly GraphicsDefinition[], options: { password?: boolean } = {}): DisplayUri[] {
  const out: DisplayUri[] = [];
  for (const g of graphics) {
    const l = g.listens[0];
    if (l?.type === 'none') continue;
    const auth = options.password && g.passwd !== undefined ? `:${encodeURIComponent(g.passwd)}@` : '';
    if (l?.type === 'socket') {
      if (l.socket !== undefined) out.push({ type: g.type, uri: `${g.type}+unix://${auth}${l.socket}` });
      continue;
    }
    const tls = g.type === 'spice' && g.tlsPort !== undefined && g.tlsPort > 0 ? `?tls-port=${g.tlsPort}` : '';
    // A SPICE display with only a TLS port: spice://HOST?tls-port=N, as virsh writes it.
    if ((g.port === undefined || g.port === -1) && tls) out.push({ type: 'spice', uri: `spice://${auth}${host(l?.address)}${tls}` });
    if (g.port === undefined || g.port === -1) continue;
    if (g.type === 'vnc') out.push({ type: 'vnc', uri: `vnc://${auth}${host(l?.address)}:${g.port - 5900}` });
    else out.push({ type: 'spice', uri: `spice://${auth}${host(l?.address)}:${g.port}${tls}` });
  }
  return out;
}

/** virsh vncdisplay: ADDRESS:DISPLAY (":0" when VNC listens on every address). */
export function vncDisplay(graphics: readonly GraphicsDefinition[]): string | undefined {
  const g = graphics.find((x) => x.type === 'vnc' && x.listens[0]?.type !== 'none' && x.listens[0]?.type !== 'socket' && x.port !== undefined && x.port !== -1);
  if (!g) return undefined;
  const address = g.listens[0]?.address;
  const wildcard = address === undefined || address === '0.0.0.0' || address === '::';
  return `${wildcard ? '' : address?.includes(':') ? `[${address}]` : address}:${(g.port as number) - 5900}`;
}
