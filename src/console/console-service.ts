import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { DomainEvent } from '../shared/domain-events.js';
import type { HostService } from '../host/host-service.js';
import type { ConsoleEnd } from '../shared/console-protocol.js';
import { findConsoleDevice } from './console-devices.js';
import { ConsoleSession } from './console-session.js';
import { openGuestChannel } from './guest-channel.js';

export interface ConsoleServiceDeps {
  host: Pick<HostService, 'lookup' | 'runningDomain' | 'on' | 'off'>;
  log: Logger;
  /** How long a console whose device closed waits for the domain's stop to say why, before it ends anyway. */
  stopGraceMs?: number;
}

/** A console opened for a client: attach its upgraded connection to start the stream. */
export interface OpenedConsole {
  domain: string;
  device: string;
  attach(client: Duplex, head: Buffer): void;
}

interface Entry {
  uuid: string;
  name: string;
  device: string;
  session?: ConsoleSession;
  /** Set when the session was taken over (or ferryd stopped) while its device was still being opened. */
  cancelled?: ConsoleEnd;
}

/**
 * ferryd's console sessions (virsh console, libvirt's virDomainOpenConsole):
 * at most one per console device, a second refused unless it forces the first
 * out. Sessions end when their domain shuts off or migrates away (the console
 * is on the destination then), and when ferryd stops.
 */
export class ConsoleService {
  private readonly sessions = new Map<string, Entry>();
  private readonly onDomain = (e: DomainEvent): void => this.domainEvent(e);
  private closed = false;

  constructor(private readonly deps: ConsoleServiceDeps) {
    deps.host.on('domain', this.onDomain);
  }

  /** Opens the console device of a running domain for one client; `force` ends the session that holds it. */
  async open(ref: string, options: { devname?: string; force?: boolean }): Promise<OpenedConsole> {
    const { host } = this.deps;
    const rec = host.lookup(ref);
    const vm = host.runningDomain(rec.uuid);
    if (!vm || this.closed)
      throw new FerryError('DOMAIN_NOT_RUNNING', 'Requested operation is not valid: domain is not running', { details: { domain: rec.name } });
    const device = findConsoleDevice(vm.def, options.devname);
    const key = `${rec.uuid}/${device.chardev}`;
    const current = this.sessions.get(key);
    if (current) {
      if (!options.force) {
        throw new FerryError('CONSOLE_BUSY', 'operation failed: Active console session exists for this domain', {
          details: { domain: rec.name, device: current.device },
        });
      }
      this.endEntry(current, { reason: 'forced', message: `another client took over the console of domain '${rec.name}' (--force)` });
    }
    const entry: Entry = { uuid: rec.uuid, name: rec.name, device: device.alias };
    this.sessions.set(key, entry);
    const log = this.deps.log.child({ vm: rec.name, console: device.alias });
    let guest: Duplex;
    try {
      guest = await openGuestChannel({ device, chardevs: () => vm.monitor.queryChardev({ timeoutMs: 10_000 }), qemuPid: vm.pid });
    } catch (err) {
      if (this.sessions.get(key) === entry) this.sessions.delete(key);
      throw err;
    }
    const session = new ConsoleSession({ guest, log, onGuestGone: (err) => this.guestGone(entry, err) });
    entry.session = session;
    void session.done.then(() => {
      if (this.sessions.get(key) === entry) this.sessions.delete(key);
    });
    if (entry.cancelled) session.end(entry.cancelled);
    log.info({ force: options.force ?? false }, 'console session opened');
    return { domain: rec.name, device: device.alias, attach: (client, head) => session.attach(client, head) };
  }

  /** Ends every session (ferryd stopping); no new one opens. */
  close(): void {
    this.closed = true;
    this.deps.host.off('domain', this.onDomain);
    // Clients get a moment to read the last frame; ferryd's listeners wait for these connections to close.
    for (const entry of this.sessions.values()) this.endEntry(entry, { reason: 'daemon', message: 'ferryd is stopping' }, { lingerMs: 1000 });
  }

  private domainEvent(e: DomainEvent): void {
    if (e.type !== 'domain.lifecycle' || e.state !== 'shutoff') return;
    for (const entry of this.sessions.values()) {
      if (entry.uuid === e.uuid) this.endEntry(entry, stopEnd(e.name, e.reason));
    }
  }

  /** The device closed by itself: the domain's stop says why, or, when no stop follows, it just closed. */
  private guestGone(entry: Entry, err?: Error): void {
    const vm = this.deps.host.runningDomain(entry.uuid);
    if (!vm) {
      let reason = 'unknown';
      try {
        reason = this.deps.host.lookup(entry.uuid).reason;
      } catch {
        // a transient domain is gone with its QEMU
      }
      this.endEntry(entry, stopEnd(entry.name, reason));
      return;
    }
    const timer = setTimeout(() => {
      this.endEntry(
        entry,
        err
          ? { reason: 'error', message: `the console device ${entry.device} of domain '${entry.name}' failed: ${err.message}` }
          : { reason: 'closed', message: `the console device ${entry.device} of domain '${entry.name}' closed` },
      );
    }, this.deps.stopGraceMs ?? 5000);
    timer.unref();
    void entry.session?.done.then(() => clearTimeout(timer));
  }

  private endEntry(entry: Entry, end: ConsoleEnd, options: { lingerMs?: number } = {}): void {
    if (entry.session) entry.session.end(end, options);
    else entry.cancelled ??= end;
  }
}

function stopEnd(name: string, reason: string): ConsoleEnd {
  return reason === 'migrated'
    ? { reason: 'migrated', message: `domain '${name}' migrated to another host: its console is there now` }
    : { reason: 'stopped', message: `domain '${name}' shut off (${reason})` };
}
