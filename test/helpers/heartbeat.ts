/** One ferry-load heartbeat line from a guest's serial log. */
export interface Heartbeat {
  seq: number;
  t: number;
  gen: number;
  /** The touched memory in 4 KiB pages, and the pages the scrubber has verified since boot (every word of each). */
  pages: number;
  scrubbed: number;
  errors: number;
  /** The disk oracle (ferry.disk=...): its size in 4 KiB blocks, blocks written and verified, and errors found. */
  diskBlocks: number;
  diskWritten: number;
  diskScrubbed: number;
  diskErrors: number;
}

export function parseHeartbeats(log: string): Heartbeat[] {
  const out: Heartbeat[] = [];
  const re =
    /ferry-load: hb seq=(\d+) t=([\d.]+) gen=(\d+) cursor=\d+ pages=(\d+) written=\d+ scrubbed=(\d+) errors=(\d+) dgen=\d+ dblocks=(\d+) dwritten=(\d+) dscrubbed=(\d+) derrors=(\d+)\r?\n/g;
  for (const m of log.matchAll(re)) {
    out.push({
      seq: Number(m[1]),
      t: Number(m[2]),
      gen: Number(m[3]),
      pages: Number(m[4]),
      scrubbed: Number(m[5]),
      errors: Number(m[6]),
      diskBlocks: Number(m[7]),
      diskWritten: Number(m[8]),
      diskScrubbed: Number(m[9]),
      diskErrors: Number(m[10]),
    });
  }
  return out;
}

/** The highest heartbeat number in a log, or -1 when it has none. */
export function lastSeq(log: string): number {
  return Math.max(-1, ...parseHeartbeats(log).map((b) => b.seq));
}

/** Waits until `read()` shows at least `count` heartbeats after `afterSeq`. */
export async function waitHeartbeats(read: () => string, count: number, options: { afterSeq?: number; timeoutMs?: number } = {}): Promise<Heartbeat[]> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const beats = parseHeartbeats(read()).filter((b) => b.seq > (options.afterSeq ?? -1));
    if (beats.length >= count) return beats;
    if (Date.now() > deadline) throw new Error(`only ${beats.length} of ${count} heartbeats after ${options.timeoutMs ?? 60_000} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** True when the guest reported memory corruption or panicked. */
export function guestCorrupted(log: string): boolean {
  return /ferry-load: (DISK-)?CORRUPT|Kernel panic/.test(log);
}

/** The guest's own reports of corruption and panics, for an error message. */
function corruptionLines(log: string): string {
  return log
    .split('\n')
    .filter((l) => /ferry-load: (DISK-)?CORRUPT|Kernel panic/.test(l))
    .slice(0, 5)
    .join('\n');
}

/**
 * Waits until ferry-load's scrubber has verified every page of the guest's
 * touched memory (with `disk`: every block of its disk region), every word of
 * each, in a pass that began after heartbeat `afterSeq`: from the first
 * heartbeat after it, `pages` more pages scrubbed. The scrubber walks memory
 * in a cycle, so any `pages` consecutive steps cover it all. Throws as soon as
 * the guest reports corruption or panics, quoting its report.
 */
export async function waitFullScrub(read: () => string, options: { afterSeq: number; disk?: boolean; timeoutMs?: number }): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  const size = (b: Heartbeat): number => (options.disk ? b.diskBlocks : b.pages);
  const done = (b: Heartbeat): number => (options.disk ? b.diskScrubbed : b.scrubbed);
  let progress = 'no heartbeat yet';
  for (;;) {
    const log = read();
    if (guestCorrupted(log)) throw new Error(`the guest reported corruption:\n${corruptionLines(log)}`);
    const beats = parseHeartbeats(log).filter((b) => b.seq > options.afterSeq);
    const [first, last] = [beats[0], beats.at(-1)];
    if (first && last) {
      if (size(first) === 0) throw new Error(`the guest has no ${options.disk ? 'disk region' : 'touched memory'} to scrub`);
      if (done(last) - done(first) >= size(first)) {
        const errors = options.disk ? last.diskErrors : last.errors;
        if (errors !== 0) throw new Error(`the guest counted ${errors} errors`);
        return;
      }
      progress = `${done(last) - done(first)} of ${size(first)} ${options.disk ? 'blocks' : 'pages'} scrubbed after heartbeat ${first.seq}`;
    }
    if (Date.now() > deadline) throw new Error(`no full scrub pass within ${timeoutMs} ms: ${progress}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The guest's memory (with `disk`: its disk region) is intact after a
 * migration: a full scrub pass on the destination that began after the
 * switch. The first heartbeat after the source's last one is skipped: the
 * guest may have written it on the source, into the serial port's buffer,
 * just before its vCPUs stopped.
 */
export async function assertIntactAfterSwitch(
  source: () => string,
  destination: () => string,
  options: { disk?: boolean; timeoutMs?: number } = {},
): Promise<void> {
  await waitFullScrub(destination, { afterSeq: lastSeq(source()) + 1, ...options });
}
