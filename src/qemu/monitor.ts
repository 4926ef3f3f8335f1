import { FerryError } from '../errors/ferry-error.js';
import { QmpClient, type ExecuteOptions } from '../qmp/client.js';
import { QmpCommandError, QmpDisconnectedError, QmpStateError, QmpTimeoutError } from '../qmp/errors.js';
import type { EventFilter, QmpEvent, QmpEventListener } from '../qmp/events.js';
import type { QmpTransport } from '../qmp/transport.js';
import type { QemuVersion } from './binary.js';

/** QEMU's RunState (qapi/run-state.json), the part ferry distinguishes. */
export type QemuRunState =
  | 'running'
  | 'paused'
  | 'prelaunch'
  | 'inmigrate'
  | 'postmigrate'
  | 'finish-migrate'
  | 'shutdown'
  | 'guest-panicked'
  | 'internal-error'
  | 'io-error'
  | 'suspended'
  | 'restore-vm'
  | 'save-vm'
  | 'watchdog'
  | 'debug'
  | 'colo';

export interface QemuStatus {
  running: boolean;
  status: QemuRunState;
}

export interface ChardevInfo {
  label: string;
  filename: string;
}

/**
 * The QEMU monitor as the rest of ferry sees it: typed calls, QEMU's errors
 * turned into FerryError codes. Only this facade builds QMP commands.
 */
export class QemuMonitor {
  private constructor(private readonly qmp: QmpClient) {}

  static async open(transport: QmpTransport, options: { timeoutMs?: number } = {}): Promise<QemuMonitor> {
    const qmp = new QmpClient({ defaultTimeoutMs: options.timeoutMs ?? 30_000 });
    try {
      await qmp.connect(transport, { timeoutMs: options.timeoutMs ?? 30_000 });
    } catch (err) {
      throw wrapQmpError('qmp_capabilities', err);
    }
    return new QemuMonitor(qmp);
  }

  get version(): QemuVersion | undefined {
    return this.qmp.greeting?.version.qemu;
  }

  get connected(): boolean {
    return this.qmp.runstate === 'running';
  }

  /** A listener for events; create it before the command that triggers them. */
  listen(filter: EventFilter = []): QmpEventListener {
    return this.qmp.listen(filter);
  }

  onEvent(handler: (event: QmpEvent) => void): () => void {
    this.qmp.on('event', handler);
    return () => this.qmp.off('event', handler);
  }

  onDisconnect(handler: (err: Error | undefined) => void): () => void {
    this.qmp.on('disconnect', handler);
    return () => this.qmp.off('disconnect', handler);
  }

  close(): void {
    this.qmp.disconnect();
  }

  queryStatus(options?: ExecuteOptions): Promise<QemuStatus> {
    return this.call<QemuStatus>('query-status', undefined, options);
  }

  async cont(options?: ExecuteOptions): Promise<void> {
    await this.call('cont', undefined, options);
  }

  async stop(options?: ExecuteOptions): Promise<void> {
    await this.call('stop', undefined, options);
  }

  /** The ACPI power button. */
  async systemPowerdown(options?: ExecuteOptions): Promise<void> {
    await this.call('system_powerdown', undefined, options);
  }

  async systemReset(options?: ExecuteOptions): Promise<void> {
    await this.call('system_reset', undefined, options);
  }

  async injectNmi(options?: ExecuteOptions): Promise<void> {
    await this.call('inject-nmi', undefined, options);
  }

  async quit(options?: ExecuteOptions): Promise<void> {
    try {
      await this.call('quit', undefined, options);
    } catch (err) {
      // QEMU may close the socket before the reply arrives: that is a successful quit.
      if (!(err instanceof FerryError && err.code === 'QMP_DISCONNECTED')) throw err;
    }
  }

  queryChardev(options?: ExecuteOptions): Promise<ChardevInfo[]> {
    return this.call<ChardevInfo[]>('query-chardev', undefined, options);
  }

  /** Runs a command and wraps QEMU's errors; for the facade's own methods and its siblings in qemu/. */
  async call<T = unknown>(command: string, args?: Record<string, unknown>, options?: ExecuteOptions): Promise<T> {
    try {
      return await this.qmp.execute<T>(command, args, options);
    } catch (err) {
      throw wrapQmpError(command, err);
    }
  }
}

/** libvirt's wording for the ways a monitor command fails. */
export function wrapQmpError(command: string, err: unknown): unknown {
  if (err instanceof QmpCommandError) {
    return new FerryError('QMP_COMMAND_FAILED', `internal error: unable to execute QEMU command '${command}': ${err.desc}`, {
      cause: err,
      details: { command, errorClass: err.errorClass },
    });
  }
  if (err instanceof QmpDisconnectedError || err instanceof QmpStateError) {
    return new FerryError('QMP_DISCONNECTED', `operation failed: QEMU monitor connection closed during '${command}'`, { cause: err });
  }
  if (err instanceof QmpTimeoutError) {
    return new FerryError('QMP_TIMEOUT', `Timed out during operation: QEMU did not answer '${command}' in ${err.timeoutMs} ms`, {
      cause: err,
    });
  }
  return err;
}
