// What ferry expects a live migration to do, before it starts: a type of the HTTP API, shared by ferryd and the CLI (docs/forecast.md).

/** Where the memory the first pass sends was estimated from. */
export type FirstPassSource =
  /** The resident part of QEMU's guest-RAM mapping (pages the guest ever wrote), bounded by the guest's RAM. */
  | 'resident-memory'
  /** The normal (non-zero) pages the last migration of this domain sent. */
  | 'previous-migration'
  /** The guest's RAM size: nothing better was known. */
  | 'guest-ram';

/** Where the dirty rate came from. */
export type DirtyRateSource =
  /** QEMU's calc-dirty-rate over a short window. */
  | 'measured'
  /** The guest is paused for the copy (migrate without --live): it dirties nothing. */
  | 'paused'
  /** Not measured (migrate_dirty_rate_window_ms = 0, --dirty-rate-window 0, or the measurement failed): assumed 0. */
  | 'not-measured';

/** Where the link's rate came from. */
export type LinkSource =
  /** The --bandwidth cap (or migrate-setspeed): QEMU sends no faster. */
  | 'bandwidth-cap'
  /** The throughput of the last uncapped migration from this host to the same destination. */
  | 'previous-migration'
  /** Neither is known: ferry's documented assumption (docs/forecast.md). */
  | 'assumed';

export interface ForecastInputs {
  firstPassBytes: number;
  firstPassSource: FirstPassSource;
  guestRamBytes: number;
  dirtyBytesPerSec: number;
  dirtyRateSource: DirtyRateSource;
  /** How the dirty rate was measured (QEMU's mode and the window it took), when it was. */
  dirtyRate?: { mode: string; windowMs: number; samplePages?: number };
  /** Why the dirty rate is not measured, when that is a failure. */
  dirtyRateError?: string;
  /** The most a pass can leave dirty: the first pass's bytes (ferry has no better estimate; docs/forecast.md). */
  workingSetBytes: number;
  linkBytesPerSec: number;
  linkSource: LinkSource;
  /** The migration this link rate (or the first pass's bytes) came from, when it came from one. */
  previousMigrationId?: string;
  /** The link's rate under post-copy, where QEMU lifts the --bandwidth cap (max-postcopy-bandwidth 0). */
  postcopyLinkBytesPerSec: number;
  /** The downtime limit pass by pass (the domain's ramp; the last one holds). */
  downtimeLimitMs: number[];
}

export interface ForecastPass {
  pass: number;
  startsAt: number;
  seconds: number;
  sentBytes: number;
  remainingBytes: number;
  downtimeLimitMs: number;
  stalled: boolean;
}

/**
 * What the migration policy will do, and when: filled by the policy planner (issue 15 parts 3-4).
 * Left out until it is wired.
 */
export interface ForecastPolicyPlan {
  policy: string;
  /** One line: e.g. "post-copy at 5.1 s (pass 2 stalls)". */
  summary: string;
  steps: Array<{ atSeconds: number; action: string; reason: string }>;
}

export interface MigrationForecast {
  inputs: ForecastInputs;
  /** Pre-copy switches over by itself within the passes predicted (and the --timeout, if any). */
  converges: boolean;
  /** Pre-copy passes before the switch-over (or before the prediction stopped). */
  passes: number;
  /** Seconds from the start of the transfer until the guest runs on the destination (or until the prediction stopped). */
  totalSeconds: number;
  /** The pause at switch-over, in ms; absent when it does not converge. */
  downtimeMs?: number;
  /** Guest bytes sent in all. */
  sentBytes: number;
  /** The first pass that leaves about as much as the one before, if any. */
  firstStall?: number;
  passDetail: ForecastPass[];
  /** With --postcopy: switching to post-copy after the first pass. */
  postcopy?: { switchAtSeconds: number; totalSeconds: number; postcopyBytes: number };
  /** What the policy will do and when (the policy planner fills this; absent until then). */
  policy?: ForecastPolicyPlan;
  /** When the inputs were gathered (ms since the epoch) and how long that took. */
  at: number;
  gatherMs: number;
}

/** The forecast recorded beside a finished migration (history): what was predicted, and what happened. */
export interface ForecastOutcome {
  predicted: { converges: boolean; passes: number; totalSeconds: number; downtimeMs?: number; inputs: ForecastInputs };
  /** QEMU's figures at the end: passes from dirty-sync-count, the time from its total-time, the non-zero memory it sent. */
  actual: { converged: boolean; passes?: number; totalSeconds?: number; downtimeMs?: number; normalBytes?: number; sentBytes?: number };
}
