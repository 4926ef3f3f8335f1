// What ferry expects a live migration to do, before it starts: schemas of the HTTP API (their types come from
// them), shared by ferryd and the CLI (docs/forecast.md).
import { choice, flag, integer, list, num, optional, record, type Static, text } from './typed-schema.js';

/** Where the memory the first pass sends was estimated from. */
export const FIRST_PASS_SOURCES = [
  /** The resident part of QEMU's guest-RAM mapping (pages the guest ever wrote), bounded by the guest's RAM. */
  'resident-memory',
  /** The normal (non-zero) pages the last migration of this domain sent. */
  'previous-migration',
  /** The guest's RAM size: nothing better was known. */
  'guest-ram',
] as const;
export type FirstPassSource = (typeof FIRST_PASS_SOURCES)[number];

/** Where the dirty rate came from. */
export const DIRTY_RATE_SOURCES = [
  /** QEMU's calc-dirty-rate over a short window. */
  'measured',
  /** The guest is paused for the copy (migrate without --live): it dirties nothing. */
  'paused',
  /** Not measured (migrate_dirty_rate_window_ms = 0, --dirty-rate-window 0, or the measurement failed): assumed 0. */
  'not-measured',
] as const;
export type DirtyRateSource = (typeof DIRTY_RATE_SOURCES)[number];

/** Where the link's rate came from. */
export const LINK_SOURCES = [
  /** The --bandwidth cap (or migrate-setspeed): QEMU sends no faster. */
  'bandwidth-cap',
  /** The throughput of the last uncapped migration from this host to the same destination. */
  'previous-migration',
  /** Neither is known: ferry's documented assumption (docs/forecast.md). */
  'assumed',
] as const;
export type LinkSource = (typeof LINK_SOURCES)[number];

export const forecastInputsSchema = record({
  firstPassBytes: num(),
  firstPassSource: choice(FIRST_PASS_SOURCES),
  guestRamBytes: num(),
  dirtyBytesPerSec: num(),
  dirtyRateSource: choice(DIRTY_RATE_SOURCES),
  dirtyRate: optional(
    record({ mode: text(), windowMs: num(), samplePages: optional(integer()) }, "How the dirty rate was measured (QEMU's mode and the window it took)"),
  ),
  dirtyRateError: optional(text('Why the dirty rate is not measured, when that is a failure')),
  workingSetBytes: num("The most a pass can leave dirty: the first pass's bytes (ferry has no better estimate; docs/forecast.md)"),
  linkBytesPerSec: num(),
  linkSource: choice(LINK_SOURCES),
  previousMigrationId: optional(text("The migration this link rate (or the first pass's bytes) came from, when it came from one")),
  postcopyLinkBytesPerSec: num("The link's rate under post-copy, where QEMU lifts the --bandwidth cap (max-postcopy-bandwidth 0)"),
  linkSamples: optional(integer('How many earlier migrations to the destination the link rate is the median of (linkSource previous-migration)')),
  setupSeconds: optional(num("QEMU's setup before the first byte, the median of the earlier migrations to the destination; absent: none known, 0")),
  downtimeLimitMs: list(num(), "The downtime limit pass by pass (the domain's ramp; the last one holds)"),
});
export type ForecastInputs = Static<typeof forecastInputsSchema>;

export const forecastPassSchema = record({
  pass: integer(),
  startsAt: num(),
  seconds: num(),
  sentBytes: num(),
  remainingBytes: num(),
  downtimeLimitMs: num(),
  stalled: flag(),
});
export type ForecastPass = Static<typeof forecastPassSchema>;

/** What the migration policy will do, and when (the policy planner's plan, docs/policies.md). */
export const forecastPolicyPlanSchema = record({
  policy: text(),
  summary: text('One line: e.g. "post-copy at 5.1 s (pass 2 stalls)"'),
  steps: list(
    record({
      when: choice(['start', 'stall', 'pass', 'deadline'], 'At the start, if a pass stalls, as a given pass starts, or at the deadline'),
      atSeconds: num('When, in seconds into the transfer, as the model has it (0 for a step that waits on a stall)'),
      action: text(),
      reason: text(),
    }),
  ),
});
export type ForecastPolicyPlan = Static<typeof forecastPolicyPlanSchema>;

export const migrationForecastSchema = record({
  inputs: forecastInputsSchema,
  converges: flag('Pre-copy switches over by itself within the passes predicted (and the --timeout, if any)'),
  passes: integer('Pre-copy passes before the switch-over (or before the prediction stopped)'),
  totalSeconds: num(
    "Seconds from the start of QEMU's migration (its setup included) until the guest runs on the destination (or until the prediction stopped)",
  ),
  downtimeMs: optional(num('The pause at switch-over, in ms; absent when it does not converge')),
  sentBytes: num('Guest bytes sent in all'),
  firstStall: optional(integer('The first pass that leaves about as much as the one before, if any')),
  passDetail: list(forecastPassSchema),
  postcopy: optional(
    record({ switchAtSeconds: num(), totalSeconds: num(), postcopyBytes: num() }, 'With --postcopy: switching to post-copy after the first pass'),
  ),
  policy: optional(forecastPolicyPlanSchema),
  at: num('When the inputs were gathered (ms since the epoch)'),
  gatherMs: num('How long gathering them took'),
});
export type MigrationForecast = Static<typeof migrationForecastSchema>;

/** The forecast recorded beside a finished migration (history): what was predicted, and what happened. */
export const forecastOutcomeSchema = record({
  predicted: record({ converges: flag(), passes: integer(), totalSeconds: num(), downtimeMs: optional(num()), inputs: forecastInputsSchema }),
  actual: record(
    {
      converged: flag(),
      passes: optional(integer()),
      totalSeconds: optional(num()),
      downtimeMs: optional(num()),
      normalBytes: optional(num()),
      sentBytes: optional(num()),
    },
    "QEMU's figures at the end: passes from dirty-sync-count, the time from its total-time, the non-zero memory it sent",
  ),
});
export type ForecastOutcome = Static<typeof forecastOutcomeSchema>;
