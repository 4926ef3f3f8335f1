import { type ChildProcess, spawn } from 'node:child_process';

/** tcpdump on one interface of a namespace, printing link-level headers, until stop(). */
export class Capture {
  private child: ChildProcess | undefined;
  private out = '';
  private err = '';

  constructor(private readonly ns: string, private readonly dev: string, private readonly filter: string, private readonly extraArgs: string[] = []) {}

  /** Resolves once tcpdump says it is listening. */
  async start(): Promise<this> {
    const child = spawn('ip', ['netns', 'exec', this.ns, 'tcpdump', '-i', this.dev, '-n', '-e', '-l', '-U', ...this.extraArgs, ...this.filter.split(' ')], { stdio: ['ignore', 'pipe', 'pipe'] });
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

  async stop(): Promise<string[]> {
    const child = this.child;
    if (child && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 200));
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGINT');
      await done;
    }
    return this.out.split('\n').filter(Boolean);
  }
}
