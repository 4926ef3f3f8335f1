import type { Logger } from 'pino';
import { AgentConnection } from '../agent/connection.js';
import { agentNotConfigured, agentNotConnected } from '../agent/errors.js';
import { GuestAgent } from '../agent/guest-agent.js';
import type { QemuMonitor } from '../qemu/monitor.js';
import type { QmpEvent } from '../qmp/events.js';
import type { ChannelDefinition, DomainDefinition } from '../vm/definition.js';
import { withAliases } from '../vm/device-aliases.js';
import { GUEST_AGENT_CHANNEL } from '../vm/devices/channel.js';
import { machineFamily } from '../vm/machine-family.js';

/**
 * The guest agent of one running QEMU: the unix socket of the domain's
 * org.qemu.guest_agent.0 channel (QEMU serves it, ferryd connects), and whether
 * the guest has the port open. That state comes from QEMU's VSERPORT_CHANGE events
 * (the guest's qemu-ga opens the port at boot, closes it on reboot; after a migration
 * the destination reports it once the vCPUs run), and from query-chardev's
 * frontend-open when ferryd (re)attaches to a running QEMU.
 */
export class DomainAgent {
  private readonly channel: ChannelDefinition | undefined;
  private guestOpen: boolean | undefined;
  private conn: AgentConnection | undefined;
  private connecting: Promise<AgentConnection> | undefined;
  private waiters: Array<(open: boolean) => void> = [];
  private readonly offEvent: () => void;
  private closed = false;

  constructor(private readonly init: { def: DomainDefinition; monitor: QemuMonitor; log: Logger }) {
    // A definition read back from the store has no aliases: QEMU's ids are libvirt's, assigned the same way again.
    const def = withAliases(init.def, machineFamily(init.def.os.machine) === 'q35');
    this.channel = def.devices.channels.find((c) => c.targetName === GUEST_AGENT_CHANNEL);
    this.offEvent = init.monitor.onEvent((e) => this.onEvent(e));
  }

  /** The domain has an agent channel ferryd can talk to (a unix socket QEMU serves, as libvirt's mode='bind'). */
  get configured(): boolean {
    return this.channel?.type === 'unix' && this.channel.sourcePath !== undefined && this.channel.sourceMode !== 'connect';
  }

  /** The agent, once the guest has its port open; AGENT_NOT_CONFIGURED / AGENT_UNRESPONSIVE otherwise. */
  async agent(): Promise<GuestAgent> {
    if (!this.configured) throw agentNotConfigured();
    if (!(await this.isOpen())) throw agentNotConnected();
    return new GuestAgent(await this.connection());
  }

  /** Waits until the guest opens its port (true), or false at the deadline / when QEMU goes. */
  async waitOpen(timeoutMs: number): Promise<boolean> {
    if (!this.configured) return false;
    if (await this.isOpen()) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (open: boolean): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(open);
      };
      this.waiters.push(done);
    });
  }

  close(): void {
    this.closed = true;
    this.offEvent();
    this.conn?.close();
    this.conn = undefined;
    for (const w of this.waiters.splice(0)) w(false);
  }

  private async isOpen(): Promise<boolean> {
    if (this.guestOpen !== undefined) return this.guestOpen;
    // Attached to a QEMU that was already running: ask it.
    const label = `char${this.channel?.alias ?? ''}`;
    try {
      const chardevs = await this.init.monitor.call<Array<{ label: string; 'frontend-open'?: boolean }>>('query-chardev');
      const open = chardevs.find((c) => c.label === label)?.['frontend-open'] ?? false;
      this.guestOpen ??= open;
    } catch (err) {
      this.init.log.warn({ err }, 'query-chardev failed: taking the guest agent as not connected');
      return false;
    }
    return this.guestOpen;
  }

  private async connection(): Promise<AgentConnection> {
    if (this.conn && !this.conn.closed) return this.conn;
    this.connecting ??= AgentConnection.connect(this.channel?.sourcePath as string)
      .then((conn) => {
        if (this.closed) {
          conn.close();
          throw agentNotConnected();
        }
        this.conn = conn;
        conn.once('close', () => {
          if (this.conn === conn) this.conn = undefined;
        });
        return conn;
      })
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  private onEvent(e: QmpEvent): void {
    if (e.event !== 'VSERPORT_CHANGE') return;
    const data = e.data as { id?: string; open?: boolean };
    if (data.id !== this.channel?.alias) return;
    this.guestOpen = data.open === true;
    this.init.log.info({ open: this.guestOpen }, this.guestOpen ? 'guest agent connected' : 'guest agent disconnected');
    if (this.guestOpen) for (const w of [...this.waiters]) w(true);
  }
}
