import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { FerryError } from '../errors/ferry-error.js';
import { connectQmpSocket } from '../qmp/transport.js';
import { QemuMonitor } from './monitor.js';

export interface ExitInfo {
  /** Exit code, when ferryd is QEMU's parent and saw it exit. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LaunchOptions {
  binary: string;
  argv: string[];
  /** The domain log: one per VM, appended to on every start (libvirt's /var/log/libvirt/qemu/NAME.log). */
  logPath: string;
  qmpSocket: string;
  startTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * One QEMU process: spawned by this ferryd, or found again after a restart.
 * QEMU runs in its own session (detached), so it outlives ferryd; exit is seen
 * through the child handle when we spawned it, else by polling /proc.
 */
export class QemuProcess extends EventEmitter<{ exit: [ExitInfo] }> {
  private exitInfo: ExitInfo | undefined;
  private poller: NodeJS.Timeout | undefined;

  private constructor(readonly pid: number, child?: ChildProcess) {
    super();
    if (child) {
      child.once('exit', (code, signal) => this.markExited({ code, signal }));
    } else {
      this.poller = setInterval(() => {
        if (!isAlive(this.pid)) this.markExited({ code: null, signal: null });
      }, 250);
      this.poller.unref();
    }
  }

  get exited(): boolean {
    return this.exitInfo !== undefined;
  }

  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /**
   * Spawns QEMU and connects to its QMP socket. A QEMU that exits before the
   * socket answers fails the launch with QEMU_LAUNCH_FAILED and the tail of its log.
   */
  static async launch(options: LaunchOptions): Promise<{ process: QemuProcess; monitor: QemuMonitor }> {
    const logOffset = appendLogHeader(options.logPath, options.binary, options.argv);
    const fd = openSync(options.logPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn(options.binary, options.argv, {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: options.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
      });
    } finally {
      closeSync(fd);
    }
    const early = new AbortController();
    // QEMU creates its monitor socket before it parses the rest of its options, so
    // a connection can succeed and QEMU still exit: its exit always wins the race.
    const failure = new Promise<never>((_, reject) => {
      child.once('error', (err: NodeJS.ErrnoException) => {
        early.abort();
        reject(
          err.code === 'ENOENT'
            ? new FerryError('QEMU_BINARY_MISSING', `Cannot find QEMU binary ${options.binary}: No such file or directory`, { cause: err })
            : new FerryError('QEMU_LAUNCH_FAILED', `failed to run ${options.binary}: ${err.message}`, { cause: err }),
        );
      });
      child.once('exit', (code, signal) => {
        early.abort();
        void logTail(options.logPath, logOffset).then((tail) =>
          reject(
            new FerryError('QEMU_LAUNCH_FAILED', `internal error: QEMU unexpectedly closed the monitor (exit ${code ?? signal}): ${tail || 'no output'}`, {
              details: { exitCode: code, signal, argv: options.argv, logTail: tail },
            }),
          ),
        );
      });
    });
    failure.catch(() => undefined);
    const proc = child.pid === undefined ? undefined : new QemuProcess(child.pid, child);
    child.unref();
    const timeoutMs = options.startTimeoutMs ?? 30_000;
    const connect = async (): Promise<QemuMonitor> => {
      const transport = await connectQmpSocket(options.qmpSocket, { timeoutMs, signal: early.signal });
      return QemuMonitor.open(transport, { timeoutMs });
    };
    try {
      const monitor = await Promise.race([connect(), failure]);
      if (!proc) throw new FerryError('QEMU_LAUNCH_FAILED', `failed to run ${options.binary}`);
      return { process: proc, monitor };
    } catch (err) {
      if (proc && !(await proc.waitExit(1000)) && !early.signal.aborted) {
        proc.signal('SIGKILL');
      }
      if (early.signal.aborted) return failure;
      if (err instanceof FerryError && err.code !== 'QMP_DISCONNECTED') throw err;
      throw new FerryError('QEMU_LAUNCH_FAILED', `QEMU did not open its monitor: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Finds a QEMU again after a ferryd restart; undefined when it is gone or the pid is reused. */
  static attach(pidfile: string, uuid: string): QemuProcess | undefined {
    let pid: number;
    try {
      pid = Number(readFileSync(pidfile, 'utf8').trim());
    } catch {
      return undefined;
    }
    if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const i = cmdline.indexOf('-uuid');
      if (i < 0 || cmdline[i + 1] !== uuid) return undefined;
    } catch {
      return undefined;
    }
    return new QemuProcess(pid);
  }

  /** Resolves true once the process has exited, false when the timeout passes first. */
  waitExit(timeoutMs: number): Promise<boolean> {
    if (this.exited) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.off('exit', onExit);
        resolve(this.exited);
      }, timeoutMs);
      const onExit = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.once('exit', onExit);
    });
  }

  signal(sig: NodeJS.Signals): void {
    if (this.exited) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      // already gone
    }
  }

  /**
   * Stops QEMU: `quit` (when a monitor is given) and a grace period, then
   * SIGTERM, then SIGKILL. Resolves once the process is gone.
   */
  async terminate(options: { quit?: () => Promise<unknown>; graceMs?: number; termMs?: number } = {}): Promise<void> {
    if (this.exited) return;
    if (options.quit) {
      await options.quit().catch(() => undefined);
      if (await this.waitExit(options.graceMs ?? 3000)) return;
    }
    this.signal('SIGTERM');
    if (await this.waitExit(options.termMs ?? 5000)) return;
    this.signal('SIGKILL');
    if (!(await this.waitExit(5000))) {
      throw new FerryError('OPERATION_TIMEOUT', `QEMU process ${this.pid} did not exit after SIGKILL`);
    }
  }

  /** Stops watching (ferryd shutting down); QEMU keeps running. */
  detach(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
    this.removeAllListeners('exit');
  }

  private markExited(info: ExitInfo): void {
    if (this.exitInfo) return;
    this.exitInfo = info;
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
    this.emit('exit', info);
  }
}

/** A process's command line, or [] when it is gone. */
export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** True while the pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Appends "starting up" and the command line to the domain log; returns where QEMU's own output begins. */
function appendLogHeader(logPath: string, binary: string, argv: string[]): number {
  const fd = openSync(logPath, 'a');
  try {
    const quoted = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' \\\n');
    writeSync(fd, `${new Date().toISOString()}: starting up\n${binary} \\\n${quoted}\n`);
  } finally {
    closeSync(fd);
  }
  return statSync(logPath).size;
}

/** The last lines QEMU wrote since `fromOffset`. */
async function logTail(logPath: string, fromOffset: number): Promise<string> {
  try {
    const text = (await readFile(logPath)).subarray(fromOffset).toString('utf8');
    return text
      .split('\n')
      .filter((l) => l.trim() !== '' && !/char device redirected to/.test(l))
      .slice(-5)
      .join('\n');
  } catch {
    return '';
  }
}
