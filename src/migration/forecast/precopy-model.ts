/**
 * What a live migration will do, pass by pass, from four numbers: the
 * memory the first pass sends, how fast the guest dirties memory, how fast
 * the link carries the stream, and the downtime limit.
 *
 * Pre-copy as QEMU runs it: the first pass sends all (non-zero) memory;
 * each later pass sends what the guest dirtied during the one before. QEMU
 * switches over (pauses the guest and sends the rest) as soon as what is
 * left fits in the downtime limit at the link's rate. A guest that dirties
 * as fast as the link sends never gets there: every pass leaves as much as
 * the last (a stall).
 *
 * The model is pure: the same inputs give the same forecast, so policies
 * (which step to take, and when) and the forecast printed by
 * `migrate-check` use one arithmetic.
 */

export interface PrecopyInputs {
  /** Bytes the first pass sends: the guest's non-zero memory (QEMU sends zero pages as a flag). */
  firstPassBytes: number;
  /** Bytes the guest dirties per second (distinct pages, as calc-dirty-rate reports them). */
  dirtyBytesPerSec: number;
  /** The most one pass can leave dirty (the guest's writable working set); default: firstPassBytes. */
  workingSetBytes?: number;
  /** Bytes per second the link carries the migration stream at (the --bandwidth cap or what was measured). */
  linkBytesPerSec: number;
  /** Downtime limit in ms for each pass; the last entry holds from then on (a ramp, or one fixed limit). */
  downtimeLimitMs: number[];
  /** Factor on the dirty rate for each pass (auto-converge: 1 - throttle); the last entry holds. Default [1]. */
  dirtyFactor?: number[];
  /** Stream bytes per guest byte (compression: below 1). Default 1. */
  streamRatio?: number;
  /** Stop predicting after this many passes. Default 30. */
  maxPasses?: number;
  /** Stop predicting after this many seconds (a deadline). Default: no limit besides maxPasses. */
  deadlineSeconds?: number;
  /** A pass that leaves at least this share of what the one before left is a stall. Default 0.9 (DowntimeSchedule's). */
  stallRatio?: number;
}

export interface PassForecast {
  /** 1-based, as QEMU's dirty-sync-count counts. */
  pass: number;
  /** When this pass starts and how long it takes, in seconds. */
  startsAt: number;
  seconds: number;
  /** Guest bytes this pass sends. */
  sentBytes: number;
  /** Guest bytes dirty when it ends (what the next pass, or the switch-over, must send). */
  remainingBytes: number;
  /** The downtime limit in force during the pass. */
  downtimeLimitMs: number;
  /** This pass left at least stallRatio of what the one before left. */
  stalled: boolean;
}

export interface PrecopyForecast {
  /** QEMU switches over within maxPasses (and the deadline). */
  converges: boolean;
  passes: PassForecast[];
  /** Seconds from the start until the guest runs on the destination; when it does not converge, until the prediction stopped. */
  totalSeconds: number;
  /** The pause at switch-over in ms (what is left at the rate of the link); undefined when it does not converge. */
  downtimeMs?: number;
  /** Guest bytes sent in all, switch-over included. */
  sentBytes: number;
  /** The first pass that stalled, if any. */
  firstStall?: number;
}

/** The arithmetic of pre-copy: QEMU's passes, until switch-over or until maxPasses/deadline. */
export function predictPrecopy(inp: PrecopyInputs): PrecopyForecast {
  check(inp);
  const ratio = inp.streamRatio ?? 1;
  const link = inp.linkBytesPerSec / ratio; // guest bytes per second
  const workingSet = inp.workingSetBytes ?? inp.firstPassBytes;
  const maxPasses = inp.maxPasses ?? 30;
  const stallRatio = inp.stallRatio ?? 0.9;
  const passes: PassForecast[] = [];
  let toSend = inp.firstPassBytes;
  let clock = 0;
  let sent = 0;
  for (let pass = 1; pass <= maxPasses; pass++) {
    const limitMs = at(inp.downtimeLimitMs, pass);
    // QEMU checks before each pass (and as the pass goes): what is left fits in the limit -> switch over.
    if ((toSend / link) * 1000 <= limitMs) {
      const downtimeMs = (toSend / link) * 1000;
      return { converges: true, passes, totalSeconds: clock + downtimeMs / 1000, downtimeMs, sentBytes: sent + toSend, firstStall: firstStall(passes) };
    }
    const seconds = toSend / link;
    if (inp.deadlineSeconds !== undefined && clock + seconds > inp.deadlineSeconds) break;
    const dirty = inp.dirtyBytesPerSec * at(inp.dirtyFactor ?? [1], pass);
    const remaining = Math.min(dirty * seconds, workingSet);
    const previous = passes.at(-1);
    passes.push({
      pass,
      startsAt: clock,
      seconds,
      sentBytes: toSend,
      remainingBytes: remaining,
      downtimeLimitMs: limitMs,
      stalled: previous !== undefined && remaining >= stallRatio * previous.remainingBytes,
    });
    clock += seconds;
    sent += toSend;
    toSend = remaining;
  }
  return { converges: false, passes, totalSeconds: clock, sentBytes: sent, firstStall: firstStall(passes) };
}

export interface PostcopyForecast {
  /** Seconds until every page is on the destination. */
  totalSeconds: number;
  /** When the guest starts running on the destination (the switch to post-copy), in seconds. */
  switchAt: number;
  /** Guest bytes fetched after the switch (what the pre-copy passes left). */
  postcopyBytes: number;
  sentBytes: number;
}

/**
 * Pre-copy for `afterPasses` passes, then post-copy: the guest runs on the
 * destination at once and the pages still dirty follow at the link's rate
 * (the guest dirties nothing more on the source). The pause is only the
 * device state, so it is not modelled here. QEMU lifts --bandwidth for the
 * post-copy phase (max-postcopy-bandwidth, unlimited by default): pass the
 * link's own rate as postcopyLinkBytesPerSec.
 */
export function predictPostcopy(inp: PrecopyInputs, afterPasses: number, postcopyLinkBytesPerSec = inp.linkBytesPerSec): PostcopyForecast {
  const pre = predictPrecopy({ ...inp, maxPasses: afterPasses, downtimeLimitMs: [0], deadlineSeconds: undefined });
  const last = pre.passes.at(-1);
  const left = last ? last.remainingBytes : inp.firstPassBytes;
  const link = postcopyLinkBytesPerSec / (inp.streamRatio ?? 1);
  return { switchAt: pre.totalSeconds, postcopyBytes: left, totalSeconds: pre.totalSeconds + left / link, sentBytes: pre.sentBytes + left };
}

function at(values: number[], pass: number): number {
  return values[Math.min(pass, values.length) - 1] as number;
}

function firstStall(passes: PassForecast[]): number | undefined {
  return passes.find((p) => p.stalled)?.pass;
}

function check(inp: PrecopyInputs): void {
  const positive = { firstPassBytes: inp.firstPassBytes, linkBytesPerSec: inp.linkBytesPerSec };
  for (const [name, v] of Object.entries(positive)) {
    if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`${name} must be a positive number, got ${v}`);
  }
  if (!(inp.dirtyBytesPerSec >= 0)) throw new RangeError(`dirtyBytesPerSec must be 0 or more, got ${inp.dirtyBytesPerSec}`);
  if (inp.downtimeLimitMs.length === 0) throw new RangeError('downtimeLimitMs needs at least one entry');
  if (inp.dirtyFactor !== undefined && inp.dirtyFactor.length === 0) throw new RangeError('dirtyFactor needs at least one entry');
}
