import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { QemuVersion } from '../qemu/binary.js';
import type { QemuMonitor } from '../qemu/monitor.js';
import type { QemuProcess } from '../qemu/process.js';
import type { QmpEvent } from '../qmp/events.js';
import type { DomainDefinition } from '../vm/definition.js';
import type { DomainStatus, StateReason } from '../shared/domain-state.js';
import { DomainAgent } from './domain-agent.js';

export interface RunningDomainEvents {
  /** The state changed; the host persists it. */
  status: [status: DomainStatus];
  /** QEMU is gone. `restart` asks the host to start the domain again (on_crash / on_poweroff = restart). */
  stopped: [info: { reason: 'shutdown' | 'destroyed' | 'crashed' | 'failed' | 'migrated' | 'saved' | 'unknown'; restart: boolean }];
  /** The guest reported a panic through pvpanic. */
  panicked: [info: Record<string, unknown> | undefined];
  /** A watchdog device fired; QEMU takes `action` (the definition's <watchdog action>). */
  watchdog: [action: string];
  /** A core dump of the guest was written (<on_crash> coredump-*, <watchdog action='dump'>), or failed (path undefined). */
  coredump: [info: { reason: 'crash' | 'watchdog'; path?: string; error?: string }];
}

export interface RunningDomainInit {
  uuid: string;
  name: string;
  def: DomainDefinition;
  /** How QEMU runs it, as decided at launch. */
  accel?: 'kvm' | 'tcg';
  qemuVersion?: QemuVersion;
  process: QemuProcess;
  monitor: QemuMonitor;
  status: DomainStatus;
  log: Logger;
}

/**
 * A domain whose QEMU runs: it follows QEMU's events and keeps the domain's
 * state in libvirt's terms, applies on_poweroff / on_crash, and reports when
 * QEMU is gone. The host tells it what a STOP or RESUME it causes means.
 */
export class RunningDomain extends EventEmitter<RunningDomainEvents> {
  readonly uuid: string;
  readonly name: string;
  private def_: DomainDefinition;
  readonly process: QemuProcess;
  readonly accel: 'kvm' | 'tcg' | undefined;
  readonly qemuVersion: QemuVersion | undefined;
  private monitor_: QemuMonitor;
  private status_: DomainStatus;
  private readonly log: Logger;
  private nextStopReason: StateReason<'paused'> | undefined;
  private nextResumeReason: StateReason<'running'> | undefined;
  /** What the domain showed before its post-copy migration broke (restored when it runs again). */
  private beforePostcopyFailure: DomainStatus | undefined;
  private fakeReboot = false;
  private ending: RunningDomainEvents['stopped'][0] | undefined;
  private detachMonitor: Array<() => void> = [];
  private gone = false;
  /** The guest agent's channel of this QEMU (not configured when the domain has none). */
  readonly agent: DomainAgent;

  constructor(init: RunningDomainInit) {
    super();
    this.uuid = init.uuid;
    this.name = init.name;
    this.def_ = init.def;
    this.process = init.process;
    this.accel = init.accel;
    this.qemuVersion = init.qemuVersion;
    this.monitor_ = init.monitor;
    this.status_ = init.status;
    this.log = init.log;
    this.attachMonitor(init.monitor);
    this.agent = new DomainAgent({ def: init.def, monitor: init.monitor, log: init.log.child({ component: 'agent' }) });
    this.process.once('exit', (info) => this.onExit(info.code, info.signal));
    this.process.on('unknown', (error) => this.log.warn({ pid: this.pid, error }, 'cannot tell whether QEMU still runs; assuming it does'));
  }

  get status(): DomainStatus {
    return this.status_;
  }

  /** The definition QEMU runs with (it changes when a block copy pivots a disk). */
  get def(): DomainDefinition {
    return this.def_;
  }

  updateDefinition(def: DomainDefinition): void {
    this.def_ = def;
  }

  get monitor(): QemuMonitor {
    return this.monitor_;
  }

  get pid(): number {
    return this.process.pid;
  }

  /**
   * Who writes the guest's core dumps (the host's CoreDumps): set when the
   * host follows the domain; without it a dump that is due is reported as failed.
   */
  coreDumper: ((reason: 'crash' | 'watchdog') => Promise<string>) | undefined;

  /** The next STOP event was caused by ferry for this reason (user, migrating, ...). */
  expectStop(reason: StateReason<'paused'>): void {
    this.nextStopReason = reason;
  }

  /** The next RESUME event was caused by ferry for this reason (booted, unpaused, migrated, ...). */
  expectResume(reason: StateReason<'running'>): void {
    this.nextResumeReason = reason;
  }

  /** Reboot the libvirt way: ACPI power-off, then reset and continue instead of exiting. */
  async reboot(): Promise<void> {
    this.fakeReboot = true;
    try {
      await this.monitor_.systemPowerdown();
    } catch (err) {
      this.fakeReboot = false;
      throw err;
    }
  }

  /** Ends QEMU (quit, SIGTERM, SIGKILL) and waits until it is gone. */
  async destroy(reason: 'destroyed' | 'shutdown' | 'crashed' | 'failed' | 'migrated' | 'saved' = 'destroyed', restart = false): Promise<void> {
    this.ending ??= { reason, restart };
    const monitor = this.monitor_;
    await this.process.terminate(monitor.connected ? { quit: () => monitor.quit({ timeoutMs: 2000 }), graceMs: 3000 } : {});
    await this.stoppedPromise();
  }

  /** Stops following QEMU (ferryd shutting down); QEMU keeps running. */
  detach(): void {
    for (const off of this.detachMonitor) off();
    this.detachMonitor = [];
    this.agent.close();
    this.monitor_.close();
    this.process.detach();
    this.gone = true;
  }

  setStatus(status: DomainStatus): void {
    if (this.status_.state === status.state && this.status_.reason === status.reason) return;
    this.status_ = status;
    this.emit('status', status);
  }

  private stoppedPromise(): Promise<void> {
    if (this.gone) return Promise.resolve();
    return new Promise((resolve) => this.once('stopped', () => resolve()));
  }

  private attachMonitor(monitor: QemuMonitor): void {
    this.detachMonitor.push(monitor.onEvent((e) => this.onEvent(e)));
    this.detachMonitor.push(monitor.onDisconnect(() => this.onMonitorLost()));
  }

  private onEvent(e: QmpEvent): void {
    switch (e.event) {
      case 'STOP':
        if (this.status_.state === 'crashed' || this.ending || this.status_.reason === 'shutting down') return;
        this.setStatus({ state: 'paused', reason: this.nextStopReason ?? 'unknown' });
        if (this.nextStopReason === undefined) void this.stopReasonFromQemu();
        this.nextStopReason = undefined;
        return;
      case 'RESUME':
        this.setStatus({ state: 'running', reason: this.nextResumeReason ?? 'unpaused' });
        this.nextResumeReason = undefined;
        return;
      case 'SHUTDOWN':
        void this.onShutdown(Boolean((e.data as { guest?: boolean }).guest));
        return;
      case 'BLOCK_IO_ERROR':
        if ((e.data as { action?: string }).action === 'stop') this.nextStopReason = 'I/O error';
        return;
      case 'GUEST_PANICKED':
        void this.onPanic((e.data as { info?: Record<string, unknown> }).info);
        return;
      case 'WATCHDOG':
        this.onWatchdog(String((e.data as { action?: string }).action ?? 'none'));
        return;
      case 'MIGRATION':
        this.onMigrationStatus(String((e.data as { status?: string }).status ?? ''));
        return;
      default:
        return;
    }
  }

  /**
   * A post-copy migration whose connection broke (QEMU's postcopy-paused) shows as paused (post-copy failed) on both
   * hosts, as libvirt shows it: the guest waits for pages on the destination whatever its vCPUs' run state says. Once
   * post-copy runs again the domain shows what it showed before.
   */
  private onMigrationStatus(status: string): void {
    if (status === 'postcopy-paused') {
      if (this.status_.reason !== 'post-copy failed') this.beforePostcopyFailure = this.status_;
      this.setStatus({ state: 'paused', reason: 'post-copy failed' });
    } else if ((status === 'postcopy-active' || status === 'completed') && this.beforePostcopyFailure) {
      const was = this.beforePostcopyFailure;
      this.beforePostcopyFailure = undefined;
      if (this.status_.reason === 'post-copy failed') this.setStatus(was);
    }
  }

  /**
   * A STOP nobody announced: QEMU's run state says why. An I/O error that
   * repeats within a second (a resumed guest retrying a write that fails
   * again) has its BLOCK_IO_ERROR event held back by QEMU's event rate limit,
   * so the STOP comes first; query-status says 'io-error' all the same.
   */
  private async stopReasonFromQemu(): Promise<void> {
    try {
      const s = await this.monitor_.queryStatus();
      if (this.status_.state !== 'paused' || this.status_.reason !== 'unknown') return;
      if (s.status === 'io-error') this.setStatus({ state: 'paused', reason: 'I/O error' });
      if (s.status === 'watchdog') this.setStatus({ state: 'paused', reason: 'watchdog' });
    } catch {
      // QEMU went away: its exit says what happened
    }
  }

  private async onShutdown(byGuest: boolean): Promise<void> {
    if (this.ending) return; // our own quit
    if (this.fakeReboot || (byGuest && this.def.onPoweroff === 'restart')) {
      this.fakeReboot = false;
      this.log.info({ event: 'reboot' }, 'guest powered off for a reboot: resetting');
      try {
        await this.monitor_.systemReset();
        this.expectResume('booted');
        await this.monitor_.cont();
      } catch (err) {
        this.log.error({ err }, 'reset after a reboot failed');
      }
      return;
    }
    if (this.def.onPoweroff === 'preserve') {
      this.setStatus({ state: 'paused', reason: 'shutting down' });
      return;
    }
    this.log.info({ byGuest }, 'guest shut down: stopping QEMU');
    this.setStatus({ state: 'shutdown', reason: 'user' });
    await this.destroy('shutdown').catch((err) => this.log.error({ err }, 'stopping QEMU after shutdown failed'));
  }

  private async onPanic(info: Record<string, unknown> | undefined): Promise<void> {
    this.log.warn({ info }, 'guest panicked');
    this.emit('panicked', info);
    this.setStatus({ state: 'crashed', reason: 'panicked' });
    const action = this.def.onCrash;
    // coredump-destroy / coredump-restart: the guest's memory goes to a file first (libvirt's auto_dump_path).
    if (action === 'coredump-destroy' || action === 'coredump-restart') await this.dumpCore('crash');
    if (action === 'preserve') return;
    const restart = action === 'restart' || action === 'rename-restart' || action === 'coredump-restart';
    await this.destroy('crashed', restart).catch((err) => this.log.error({ err }, 'stopping QEMU after a panic failed'));
  }

  /**
   * QEMU sends WATCHDOG before it acts: 'pause' stops the vCPUs next (paused,
   * reason watchdog, as libvirt's), 'poweroff' makes QEMU exit at once, which
   * libvirt reports as shut off (crashed): the guest stopped feeding its watchdog.
   */
  private onWatchdog(action: string): void {
    this.log.warn({ action }, 'watchdog fired');
    this.emit('watchdog', action);
    if (action === 'pause') this.nextStopReason = 'watchdog';
    if (action === 'poweroff') this.ending ??= { reason: 'crashed', restart: false };
    // <watchdog action='dump'>: QEMU pauses (-watchdog-action pause); the dump is written, then the guest runs on, as libvirt does.
    if (action === 'pause' && this.def.devices.watchdogs[0]?.action === 'dump') void this.dumpAfterWatchdog();
  }

  private async dumpAfterWatchdog(): Promise<void> {
    await this.dumpCore('watchdog');
    if (this.gone || this.ending || this.status_.state !== 'paused' || this.status_.reason !== 'watchdog') return;
    try {
      this.expectResume('unpaused');
      await this.monitor_.cont();
    } catch (err) {
      this.log.error({ err }, 'resuming the guest after its watchdog dump failed');
    }
  }

  /** Writes a core dump through the host's dumper; a failure is logged and reported, never fatal to the domain. */
  private async dumpCore(reason: 'crash' | 'watchdog'): Promise<void> {
    try {
      if (!this.coreDumper) throw new Error('no core dump writer on this host');
      const path = await this.coreDumper(reason);
      this.emit('coredump', { reason, path });
    } catch (err) {
      this.log.error({ err, reason }, 'the core dump failed');
      this.emit('coredump', { reason, error: (err as Error).message });
    }
  }

  private onMonitorLost(): void {
    if (this.gone || this.ending) return;
    // QEMU closes the monitor when it exits; give the exit a moment to be seen.
    void this.process.waitExit(5000).then((exited) => {
      if (!exited && !this.gone) this.log.error({ pid: this.pid }, 'QEMU monitor closed but the process is still alive');
    });
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.gone) return;
    this.gone = true;
    for (const off of this.detachMonitor) off();
    this.agent.close();
    this.monitor_.close();
    const info = this.ending ?? { reason: 'crashed' as const, restart: false };
    if (!this.ending) this.log.error({ code, signal }, 'QEMU exited unexpectedly');
    this.emit('stopped', info);
  }
}
