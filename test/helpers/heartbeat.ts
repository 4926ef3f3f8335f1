/** One ferry-load heartbeat line from a guest's serial log. */
export interface Heartbeat {
  seq: number;
  t: number;
  gen: number;
  errors: number;
  /** The disk oracle (ferry.disk=...): blocks written and verified, and errors found. */
  diskWritten: number;
  diskScrubbed: number;
  diskErrors: number;
}

export function parseHeartbeats(log: string): Heartbeat[] {
  const out: Heartbeat[] = [];
  const re = /ferry-load: hb seq=(\d+) t=([\d.]+) gen=(\d+) .* errors=(\d+)(?: dgen=\d+ dwritten=(\d+) dscrubbed=(\d+) derrors=(\d+))?/g;
  for (const m of log.matchAll(re)) {
    out.push({
      seq: Number(m[1]), t: Number(m[2]), gen: Number(m[3]), errors: Number(m[4]),
      diskWritten: Number(m[5] ?? 0), diskScrubbed: Number(m[6] ?? 0), diskErrors: Number(m[7] ?? 0),
    });
  }
  return out;
}

/** Waits until `read()` shows at least `count` heartbeats after `afterSeq`. */
export async function waitHeartbeats(read: () => string, count: number, options: { afterSeq?: number; timeoutMs?: number } = {}): Promise<Heartbeat[]> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const beats = parseHeartbeats(read()).filter((b) => b.seq > (options.afterSeq ?? -1));
    if (beats.length >= count) return beats;
    if (Date.now() > deadline) throw new Error(`only ${beats.length} of ${count} heartbeats after ${options.timeoutMs ?? 30_000} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** True when the guest reported memory corruption or panicked. */
export function guestCorrupted(log: string): boolean {
  return /ferry-load: (DISK-)?CORRUPT|Kernel panic/.test(log);
}
