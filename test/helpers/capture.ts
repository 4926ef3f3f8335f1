import { type ChildProcess, spawn } from 'node:child_process';

/** tcpdump on one interface of a namespace, printing link-level headers, until stop(). */
export class Capture {
  private child: ChildProcess | undefined;
  private out = '';
  private err = '';
  private closed: Promise<void> = Promise.resolve();

  constructor(
    private readonly ns: string,
    private readonly dev: string,
    private readonly filter: string,
    private readonly extraArgs: string[] = [],
  ) {}

  /** Resolves once tcpdump says it is listening. */
  async start(): Promise<this> {
    // --immediate-mode: each packet reaches tcpdump at once, not when the kernel's buffer block fills or times out.
    const child = spawn(
      'ip',
      ['netns', 'exec', this.ns, 'tcpdump', '--immediate-mode', '-i', this.dev, '-n', '-e', '-l', '-U', ...this.extraArgs, ...this.filter.split(' ')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.closed = new Promise((resolve) => child.once('close', () => resolve()));
    this.child = child;
    child.stdout?.on('data', (c: Buffer) => (this.out += c.toString()));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${this.err}`)), 10_000);
      child.stderr?.on('data', (c: Buffer) => {
        this.err += c.toString();
        if (/listening on/.test(this.err)) {
          clearTimeout(t);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${this.err}`)));
      child.stdout?.on('end', () => undefined);
    });
    return this;
  }

  /** The lines captured so far. */
  lines(): string[] {
    return this.out.split('\n').filter(Boolean);
  }

  /** Stops tcpdump (unless it stopped by itself, -c) and returns every line it printed. */
  async stop(): Promise<string[]> {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGINT');
    await this.closed;
    return this.lines();
  }
}
