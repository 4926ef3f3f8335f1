import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { REPO_ROOT } from './guest.js';
import { pidsMatching } from './processes.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface FerrydOptions {
  /** A directory of its own for this host: state/, ferryd.sock, ferryd.log. */
  dir: string;
  /** Another state directory than dir/state (two ferryds on one, to test that the second is refused). */
  stateDir?: string;
  accel?: 'tcg' | 'kvm' | 'auto';
  qemuBinary?: string;
  /** The TLS listener (--listen host:port; needs certificates in the config's tls_dir). */
  listen?: string;
  /** The unauthenticated TCP listener (--listen-tcp host:port), for tests on loopback. */
  listenTcp?: string;
  extraArgs?: string[];
  config?: string;
  /** Run ferryd inside this network namespace (ip netns exec): a host with its own network stack. */
  netns?: string;
  /** ferryd's descriptor limit (soft and hard, as `ulimit -n N` sets them; systemd's default is 1024). */
  nofile?: number;
  /** A command that execs ferryd (its command line follows): e.g. unshare, for a host with its own mounts. */
  launcher?: string[];
}

/**
 * A real ferryd process for tests (one "host"): started from bin/ferryd with
 * its own state directory and socket, driven through the real ferry CLI.
 */
export class FerrydHost {
  private child: ChildProcess | undefined;
  readonly stateDir: string;
  readonly socket: string;
  readonly logFile: string;

  constructor(readonly options: FerrydOptions) {
    mkdirSync(options.dir, { recursive: true });
    this.stateDir = options.stateDir ?? join(options.dir, 'state');
    this.socket = join(options.dir, 'ferryd.sock');
    this.logFile = join(options.dir, 'ferryd.log');
  }

  get uri(): string {
    return `ferry:///system?socket=${this.socket}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<this> {
    const exited = this.spawn();
    // ferryd is ready in 1-3 s on an idle machine; on a loaded one (several QEMUs under TCG, a compiler) its
    // start-up (KVM probe, listeners) has taken 12-19 s. A ferryd that dies is caught at once by `exited`.
    await Promise.race([this.waitReady(60_000), exited]);
    return this;
  }

  /** Starts the ferryd process without waiting for it to serve; the promise rejects if it exits. */
  spawn(): Promise<never> {
    const args = [
      join(REPO_ROOT, 'bin/ferryd'),
      '--state-dir',
      this.stateDir,
      '--socket',
      this.socket,
      '--accel',
      this.options.accel ?? 'tcg',
      '--log-level',
      'debug',
      ...(this.options.qemuBinary ? ['--qemu-binary', this.options.qemuBinary] : []),
      ...(this.options.listen ? ['--listen', this.options.listen] : []),
      ...(this.options.listenTcp ? ['--listen-tcp', this.options.listenTcp] : []),
      ...(this.options.config ? ['--config', this.options.config] : []),
      ...(this.options.extraArgs ?? []),
    ];
    const fd = openSync(this.logFile, 'a');
    const node = this.options.nofile ? ['prlimit', `--nofile=${this.options.nofile}:${this.options.nofile}`, '--', process.execPath] : [process.execPath];
    const launcher = this.options.launcher ?? (this.options.netns ? ['ip', 'netns', 'exec', this.options.netns] : []);
    const argv = [...launcher, ...node, ...args];
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.child = child;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`ferryd exited with ${code} during start:\n${this.logTail()}`))),
    );
    exited.catch(() => undefined);
    return exited;
  }

  /** Stops ferryd with a signal; SIGKILL models a crash. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await done;
    this.child = undefined;
  }

  /** ferry-lockd's socket: ferryd starts a lockd there (beside its own socket) when it needs one. */
  get lockdSocket(): string {
    return join(this.options.dir, 'ferry-lockd.sock');
  }

  /** Stops ferryd and the ferry-lockd it started (test cleanup). */
  async stopAll(): Promise<void> {
    await this.kill();
    for (const pid of pidsMatching(this.lockdSocket)) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone
      }
    }
  }

  async restart(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.kill(signal);
    await this.start();
  }

  /** Runs the real CLI against this host. */
  ferry(...args: string[]): Promise<CliResult> {
    return runFerry(args, { FERRY_DEFAULT_URI: this.uri });
  }

  /** Like ferry(), but fails the test with the CLI's stderr when it does not succeed. */
  async ok(...args: string[]): Promise<string> {
    const r = await this.ferry(...args);
    if (r.code !== 0) throw new Error(`ferry ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** GET on the API, for assertions that the CLI does not show. */
  api<T>(path: string): Promise<T> {
    return new Promise((resolve, reject) => {
      http
        .get({ socketPath: this.socket, path }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => {
            try {
              resolve(JSON.parse(body) as T);
            } catch (err) {
              reject(err);
            }
          });
        })
        .on('error', reject);
    });
  }

  /** POST on the API with a JSON body; resolves with the status and the parsed reply. */
  apiPost<T>(path: string, body: unknown): Promise<{ status: number; body: T }> {
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        { socketPath: this.socket, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => {
            try {
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as T });
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** The domain's state as `domstate --reason` prints it, e.g. "running (booted)". */
  async state(domain: string): Promise<string> {
    return (await this.ok('domstate', domain, '--reason')).trim();
  }

  /** Polls domstate until it matches, or fails after the timeout. */
  async waitState(domain: string, expected: string | RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const r = await this.ferry('domstate', domain, '--reason');
      last = r.stdout.trim() || r.stderr.trim();
      if (typeof expected === 'string' ? last === expected : expected.test(last)) return last;
      await new Promise((r2) => setTimeout(r2, 100));
    }
    throw new Error(`domain ${domain} did not reach '${String(expected)}' in ${timeoutMs} ms (last: ${last})`);
  }

  serialLog(domain: string, port = 0): string {
    const p = join(this.stateDir, 'log', `${domain}-serial${port}.log`);
    return existsSync(p) ? readFileSync(p, 'utf8') : '';
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        await this.api('/v1/version');
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`ferryd did not answer on ${this.socket} within ${timeoutMs} ms:\n${this.logTail()}`);
  }
}

/** Runs bin/ferry with the given environment additions. */
export function runFerry(args: string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(REPO_ROOT, 'bin/ferry'), ...args],
      { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}
