import type { GraphicsDefinition } from '../vm/definition.js';
import type { QemuMonitor } from './monitor.js';

/** query-vnc / query-spice, the part ferry reads. */
export interface DisplayInfo {
  enabled: boolean;
  host?: string;
  service?: string;
  port?: number;
  auth?: string;
  /** SPICE: the last migration completed and SPICE clients were moved (client_migrate_info was sent). */
  migrated?: boolean;
}

/** The display commands of QEMU's monitor (ui/ in QEMU: VNC and SPICE), typed for what ferry uses. */
export class DisplayMonitor {
  constructor(private readonly monitor: QemuMonitor) {}

  /**
   * A display's password and its expiry (libvirt's qemuDomainChangeGraphicsPasswords):
   * set_password, then expire_password with passwdValidTo as seconds since the
   * epoch, or 'never'. Passwords go over QMP only, never on the command line.
   */
  async setPassword(g: GraphicsDefinition, password: string): Promise<void> {
    const connected = g.type === 'spice' && g.connected ? { connected: g.connected } : {};
    await this.monitor.call('set_password', { protocol: g.type, password, ...connected });
    const time = g.passwdValidTo === undefined ? 'never' : String(Math.floor(Date.parse(`${g.passwdValidTo}Z`) / 1000));
    await this.monitor.call('expire_password', { protocol: g.type, time });
  }

  /** Tells SPICE clients where the domain is going, before the migration starts (they connect there ahead of the switch). */
  async clientMigrateInfo(target: { hostname: string; port?: number; tlsPort?: number }): Promise<void> {
    await this.monitor.call('client_migrate_info', {
      protocol: 'spice',
      hostname: target.hostname,
      ...(target.port === undefined ? {} : { port: target.port }),
      ...(target.tlsPort === undefined ? {} : { 'tls-port': target.tlsPort }),
    });
  }

  query(type: GraphicsDefinition['type']): Promise<DisplayInfo> {
    return this.monitor.call<DisplayInfo>(type === 'vnc' ? 'query-vnc' : 'query-spice');
  }
}

/** Sets the password of every display that has one; QEMU is paused (-S or incoming), so no client got in without it. */
export async function applyDisplayPasswords(monitor: QemuMonitor, graphics: readonly GraphicsDefinition[]): Promise<void> {
  const displays = new DisplayMonitor(monitor);
  for (const g of graphics) {
    if (g.passwd !== undefined) await displays.setPassword(g, g.passwd);
  }
}
