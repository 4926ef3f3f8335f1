import { readFileSync } from 'node:fs';

/**
 * Watches a guest's serial logs from the host side and timestamps each
 * heartbeat as it appears, so a pause of the guest (which also stops its
 * own clock) shows up as a gap in host time.
 */
export class HeartbeatWatch {
  private readonly seen = new Map<number, number>();
  private readonly offsets = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly lines: string[] = [];

  constructor(
    private readonly files: () => string[],
    private readonly pollMs = 10,
  ) {}

  /** Starts watching: only lines written from now on count (files that do not exist yet start empty). */
  start(): this {
    for (const f of this.files()) {
      let size = 0;
      try {
        size = readFileSync(f).length;
      } catch {
        size = 0;
      }
      this.offsets.set(f, size);
    }
    this.timer = setInterval(() => this.poll(), this.pollMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.poll();
  }

  /** Host-time gaps between consecutive new heartbeats, largest first. */
  maxGapMs(since = 0): number {
    const times = [...this.seen.entries()]
      .filter(([, t]) => t >= since)
      .map(([, t]) => t)
      .sort((a, b) => a - b);
    let max = 0;
    for (let i = 1; i < times.length; i++) max = Math.max(max, (times[i] as number) - (times[i - 1] as number));
    return max;
  }

  get count(): number {
    return this.seen.size;
  }

  lastSeq(): number {
    return Math.max(-1, ...this.seen.keys());
  }

  /** Every new line seen, for diagnostics. */
  text(): string {
    return this.lines.join('\n');
  }

  private poll(): void {
    const now = Date.now();
    for (const f of this.files()) {
      let buf: Buffer;
      try {
        buf = readFileSync(f);
      } catch {
        continue;
      }
      const from = this.offsets.get(f) ?? 0;
      if (buf.length <= from) continue;
      const text = buf.subarray(from).toString('utf8');
      const cut = text.lastIndexOf('\n');
      if (cut < 0) continue;
      this.offsets.set(f, from + Buffer.byteLength(text.slice(0, cut + 1)));
      for (const line of text.slice(0, cut).split('\n')) {
        this.lines.push(line);
        const m = /hb seq=(\d+)/.exec(line);
        if (m && !this.seen.has(Number(m[1]))) this.seen.set(Number(m[1]), now);
      }
    }
  }
}
