import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { FerryError } from '../errors/ferry-error.js';
import { connectQmpSocket } from '../qmp/transport.js';
import { processCommandLine, processLiveness } from '../system/process-liveness.js';
import { setprivCommand } from '../system/setpriv.js';
import type { UnixAccount } from '../system/unix-user.js';
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
  /** The unprivileged account QEMU runs as (qemu.conf's user and group); undefined: as ferryd (root). */
  account?: UnixAccount;
  /** Descriptors handed to QEMU as fd 3, 4, ... (tap devices); the caller closes its copies. */
  fds?: readonly number[];
  /**
   * Runs with QEMU's pid before QEMU itself runs (it waits in a shell for a go on its stdin, then execs):
   * what must hold the process before its first allocation, as libvirt's handshake before exec
   * (virCommandHandshakeWait). Used to put QEMU in its systemd scope. A throw here ends the launch
   * without QEMU ever running.
   */
  beforeExec?: (pid: number) => Promise<void>;
}

/**
 * Makes `command args` wait, in a shell holding the pid it execs into, until a line "go" arrives on its
 * stdin; anything else (ferryd gone, the pipe closed) ends it with 125 and QEMU never starts.
 */
export function gatedCommand(command: string, args: readonly string[]): { command: string; args: string[] } {
  return { command: '/bin/sh', args: ['-c', 'read -r go && [ "$go" = go ] || exit 125; exec "$@" </dev/null', 'ferry-qemu-gate', command, ...args] };
}

/** What looking for a QEMU after a ferryd restart found. */
export type FoundQemu =
  | { found: 'alive'; process: QemuProcess }
  /** The kernel says it is gone (or its pid now belongs to another program). */
  | { found: 'gone'; why: string }
  /** It could not be told (ferryd out of descriptors, ...): nothing may be released on this. */
  | { found: 'unknown'; why: string };

/**
 * One QEMU process: spawned by this ferryd, or found again after a restart.
 * QEMU runs in its own session (detached), so it outlives ferryd; exit is seen
 * through the child handle when we spawned it, else by polling the kernel. Only
 * the kernel's word ends a QEMU: a failed look (EMFILE, ...) is no exit.
 */
export class QemuProcess extends EventEmitter<{ exit: [ExitInfo]; unknown: [error: string] }> {
  private exitInfo: ExitInfo | undefined;
  private poller: NodeJS.Timeout | undefined;

  private constructor(
    readonly pid: number,
    options: { child?: ChildProcess; startTime?: string; pollMs?: number } = {},
  ) {
    super();
    if (options.child) {
      options.child.once('exit', (code, signal) => this.markExited({ code, signal }));
    } else {
      let lastError: string | undefined;
      this.poller = setInterval(() => {
        const l = processLiveness(this.pid, options.startTime);
        if (l.state === 'dead') this.markExited({ code: null, signal: null });
        else if (l.state === 'unknown' && l.error !== lastError) this.emit('unknown', l.error);
        lastError = l.state === 'unknown' ? l.error : undefined;
      }, options.pollMs ?? 250);
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
    const fd = openSync(options.logPath, 'a', 0o600);
    let child: ChildProcess;
    const direct = setprivCommand(options.binary, options.argv, { account: options.account });
    const cmd = options.beforeExec ? gatedCommand(direct.command, direct.args) : direct;
    try {
      child = spawn(cmd.command, cmd.args, {
        detached: true,
        stdio: [options.beforeExec ? 'pipe' : 'ignore', fd, fd, ...(options.fds ?? [])],
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
            code === 127 && /setpriv: failed to execute/.test(tail)
              ? new FerryError('QEMU_BINARY_MISSING', `Cannot find QEMU binary ${options.binary}: No such file or directory`)
              : new FerryError('QEMU_LAUNCH_FAILED', `internal error: QEMU unexpectedly closed the monitor (exit ${code ?? signal}): ${tail || 'no output'}`, {
                  details: { exitCode: code, signal, argv: options.argv, logTail: tail },
                }),
          ),
        );
      });
    });
    failure.catch(() => undefined);
    const proc = child.pid === undefined ? undefined : new QemuProcess(child.pid, { child });
    child.unref();
    child.stdin?.on('error', () => undefined);
    if (options.beforeExec && proc) {
      // The earliest point ferryd can act on QEMU: its pid exists, QEMU has not run a line, allocated guest
      // RAM (charged to the cgroup it is in at that time) nor started a thread.
      try {
        await Promise.race([options.beforeExec(proc.pid), failure]);
      } catch (err) {
        child.stdin?.destroy();
        if (!(await proc.waitExit(2000))) proc.signal('SIGKILL');
        throw err;
      }
      child.stdin?.end('go\n');
    }
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

  /**
   * Finds a QEMU again after a ferryd restart, by the pid ferryd recorded (or
   * its pidfile): alive and running this domain (`-uuid`), gone, or unknown.
   */
  static find(o: { pid: number | null; pidfile: string; uuid: string; pollMs?: number }): FoundQemu {
    let pid = o.pid ?? undefined;
    if (pid === undefined) {
      try {
        pid = Number(readFileSync(o.pidfile, 'utf8').trim());
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // QEMU removes its pidfile when it exits.
        return code === 'ENOENT' ? { found: 'gone', why: 'no pid recorded and no pidfile' } : { found: 'unknown', why: `${o.pidfile}: ${code}` };
      }
    }
    const l = processLiveness(pid);
    if (l.state === 'dead') return { found: 'gone', why: `pid ${pid}: ${l.why}` };
    if (l.state === 'unknown') return { found: 'unknown', why: l.error };
    const argv = processCommandLine(pid);
    if (argv === 'gone') return { found: 'gone', why: `pid ${pid}: no such process` };
    if (argv === 'unknown') return { found: 'unknown', why: `cannot read /proc/${pid}/cmdline` };
    const i = argv.indexOf('-uuid');
    if (i < 0 || argv[i + 1] !== o.uuid) return { found: 'gone', why: `pid ${pid} is another program now` };
    return { found: 'alive', process: new QemuProcess(pid, { startTime: l.startTime, ...(o.pollMs ? { pollMs: o.pollMs } : {}) }) };
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

/** A process's command line, or [] when it cannot be read. */
export function commandLine(pid: number): string[] {
  const argv = processCommandLine(pid);
  return Array.isArray(argv) ? argv : [];
}

/** Appends "starting up" and the command line to the domain log; returns where QEMU's own output begins. */
function appendLogHeader(logPath: string, binary: string, argv: string[]): number {
  const fd = openSync(logPath, 'a', 0o600);
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
