import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { CliResult } from './ferryd.js';
import { REPO_ROOT } from './guest.js';
import { eventually } from './processes.js';

/**
 * A long-running ferry command (`ferry event --loop`, ...) whose output the
 * test reads while it runs: wait for a line, then stop it with SIGINT.
 */
export class CliStream {
  private readonly child: ChildProcess;
  private stdout = '';
  private stderr = '';
  private readonly closed: Promise<number>;

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [join(REPO_ROOT, 'bin/ferry'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (c: Buffer) => (this.stdout += c.toString()));
    this.child.stderr?.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.closed = new Promise((resolve) => this.child.once('close', (code) => resolve(code ?? 1)));
  }

  output(): string {
    return this.stdout;
  }

  /** Waits until the command has printed a line matching `re`. */
  async waitFor(re: RegExp, what: string, timeoutMs = 20_000): Promise<void> {
    await eventually(
      () => {
        if (this.child.exitCode !== null) throw new Error(`ferry exited (${this.child.exitCode}) before ${what}:\n${this.stderr}${this.stdout}`);
        return re.test(this.stdout);
      },
      what,
      timeoutMs,
    );
  }

  /** Interrupts the command (as Ctrl-C would) and resolves with all it printed. */
  async stop(): Promise<CliResult> {
    if (this.child.exitCode === null) this.child.kill('SIGINT');
    const code = await this.closed;
    return { code, stdout: this.stdout, stderr: this.stderr };
  }
}
