import { type ChildProcess, spawn } from 'node:child_process';

export interface PingSummary {
  transmitted: number;
  received: number;
  lost: number;
  /** icmp_seq numbers that got no reply. */
  missing: number[];
  output: string;
}

/**
 * iputils ping, running inside a namespace until stop(): every echo request
 * counted, and the sequence numbers of the lost ones.
 */
export class Ping {
  private child: ChildProcess | undefined;
  private out = '';

  constructor(
    private readonly ns: string,
    private readonly target: string,
    private readonly intervalS = 0.1,
  ) {}

  start(): this {
    // -D: each reply carries the time it arrived (the blackout of a migration is the longest gap between them).
    this.child = spawn('ip', ['netns', 'exec', this.ns, 'ping', '-n', '-D', '-i', String(this.intervalS), '-W', '2', this.target], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (c: Buffer) => (this.out += c.toString()));
    this.child.stderr?.on('data', (c: Buffer) => (this.out += c.toString()));
    return this;
  }

  /** Replies so far. */
  replies(): number {
    return (this.out.match(/bytes from/g) ?? []).length;
  }

  /** When each reply so far arrived (ms since the epoch, from ping's -D stamps). */
  replyTimes(): number[] {
    return [...this.out.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((m) => Number(m[1]) * 1000);
  }

  /** The longest time between two replies that arrived in [from, to] (ms since the epoch). */
  longestGapMs(from: number, to: number): number {
    const times = this.replyTimes().filter((t) => t >= from && t <= to);
    let longest = 0;
    for (let i = 1; i < times.length; i++) longest = Math.max(longest, (times[i] as number) - (times[i - 1] as number));
    return Math.round(longest);
  }

  async stop(): Promise<PingSummary> {
    const child = this.child;
    if (!child) throw new Error('ping was not started');
    const done = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('close', () => resolve())));
    // Stop right after a reply, so that no request is in flight (and counted lost) when ping stops;
    // a VM that no longer answers gets two seconds.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, 2000);
      function onData(c: Buffer): void {
        if (/bytes from/.test(c.toString())) finish();
      }
      function finish(): void {
        clearTimeout(timer);
        child?.stdout?.off('data', onData);
        resolve();
      }
      child.stdout?.on('data', onData);
    });
    child.kill('SIGINT');
    await done;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(this.out);
    if (!m) throw new Error(`no ping statistics in:\n${this.out}`);
    const transmitted = Number(m[1]);
    const received = Number(m[2]);
    const answered = new Set([...this.out.matchAll(/icmp_seq=(\d+)/g)].map((x) => Number(x[1])));
    const missing: number[] = [];
    for (let seq = 1; seq <= transmitted; seq++) if (!answered.has(seq)) missing.push(seq);
    return { transmitted, received, lost: transmitted - received, missing, output: this.out };
  }
}
