import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './guest.js';
import { eventually } from './processes.js';

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** What an interactive command left behind: its exit status, all it wrote, and the terminal's modes after it. */
export interface PtyResult {
  code: number;
  output: string;
  /** `stty -a` on the same terminal once the command exited: did it put the terminal back? */
  stty: string;
}

/**
 * The ferry CLI on a real terminal, as a person runs it: util-linux's
 * `script` gives it a pty (node has no pty module), the test types into it
 * and reads the screen. After ferry exits, the same shell prints its exit
 * status and `stty -a`, so a test can check the terminal modes it left.
 */
export class PtyCli {
  private readonly child: ChildProcess;
  private text = '';
  private readonly closed: Promise<void>;

  /** `ferry ARGS` on a terminal of its own. */
  static ferry(args: string[], env: Record<string, string> = {}): PtyCli {
    return new PtyCli([process.execPath, join(REPO_ROOT, 'bin/ferry'), ...args], env);
  }

  /** A command line (e.g. ferry run inside a lab host) on a terminal of its own. */
  constructor(argv: string[], env: Record<string, string> = {}) {
    const shell = `${argv.map(quote).join(' ')}; echo "FERRY-EXIT=$?"; stty -a; echo FERRY-STTY-END`;
    this.child = spawn('script', ['-qfec', shell, '/dev/null'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (c: Buffer) => (this.text += c.toString('latin1')));
    this.child.stderr?.on('data', (c: Buffer) => (this.text += c.toString('latin1')));
    this.closed = new Promise((resolve) => this.child.once('close', () => resolve()));
  }

  /** Everything on the screen so far. */
  get screen(): string {
    return this.text;
  }

  /** Waits until the screen matches `re` (after `from`, an offset in it); resolves with the screen's length then. */
  async waitFor(re: RegExp, what: string, options: { from?: number; timeoutMs?: number } = {}): Promise<number> {
    await eventually(
      () => {
        if (this.child.exitCode !== null && !re.test(this.text.slice(options.from ?? 0))) {
          throw new Error(`the command exited before ${what}:\n${this.text}`);
        }
        return re.test(this.text.slice(options.from ?? 0));
      },
      what,
      options.timeoutMs ?? 30_000,
    );
    return this.text.length;
  }

  /** Types on the terminal (raw bytes: '\r' is Enter, '\x1d' is ^]). */
  type(keys: string): void {
    this.child.stdin?.write(Buffer.from(keys, 'latin1'));
  }

  /** Waits for the command to exit; its status and the terminal's modes after it. */
  async result(timeoutMs = 30_000): Promise<PtyResult> {
    await this.waitFor(/FERRY-STTY-END/, 'the command to exit', { timeoutMs });
    this.child.stdin?.end();
    await this.closed;
    const code = Number(/FERRY-EXIT=(\d+)/.exec(this.text)?.[1] ?? -1);
    const at = this.text.lastIndexOf('FERRY-EXIT=');
    return { code, output: this.text.slice(0, at), stty: this.text.slice(at) };
  }

  /** Ends it whatever state it is in (test cleanup). */
  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** True when `stty -a` shows a terminal in its normal (cooked) modes: line editing, echo, output processing. */
export function cookedTerminal(stty: string): boolean {
  return /(^|\s)icanon(\s|$)/m.test(stty) && /(^|\s)echo(\s|$)/m.test(stty) && /(^|\s)opost(\s|$)/m.test(stty) && /(^|\s)isig(\s|$)/m.test(stty);
}
