// The job statistics that `ferry domjobinfo` and the job events show: a reply of the HTTP API (GET
// /v1/domains/:ref/job, a finished migrate), shared by ferryd and the CLI. The type is its schema's.
import { choice, num, optional, record, type Static, text, textAs } from './typed-schema.js';

/** What `ferry domjobinfo` shows: libvirt's job statistics, from QEMU's query-migrate (bytes, ms). */
export const jobInfoSchema = record(
  {
    type: choice(['None', 'Unbounded', 'Completed', 'Failed', 'Cancelled']),
    operation: textAs<'Outgoing migration' | 'Incoming migration' | 'Offline migration'>(),
    /** The migration's phase (Begin, Prepare, Perform, ...). */
    phase: optional(text()),
    /** QEMU's migration status (setup, active, postcopy-active, completed, ...). */
    status: optional(text()),
    timeElapsedMs: num(),
    dataProcessed: optional(num()),
    dataRemaining: optional(num()),
    dataTotal: optional(num()),
    /** Disks copied with the migration (live storage migration): bytes mirrored so far and in all. */
    diskProcessed: optional(num()),
    diskRemaining: optional(num()),
    diskTotal: optional(num()),
    memoryBandwidth: optional(num()),
    dirtyRate: optional(num()),
    pageSize: optional(num()),
    iteration: optional(num()),
    postcopyRequests: optional(num()),
    /** A post-copy migration whose connection broke: its state and recovery (postcopy-paused ...). */
    postcopy: optional(text()),
    constantPages: optional(num()),
    normalPages: optional(num()),
    normalData: optional(num()),
    expectedDowntimeMs: optional(num()),
    setupTimeMs: optional(num()),
    /** QEMU's own total-time (from `migrate` to completion). */
    qemuTotalTimeMs: optional(num()),
    /** The real downtime, once completed. */
    downtimeMs: optional(num()),
    cpuThrottlePercent: optional(num()),
    /** The migration policy (docs/policies.md), the step it is in and why it was taken. */
    policy: optional(text()),
    policyStep: optional(text()),
    policyReason: optional(text()),
    /** The downtime limit in force (the policy's ramp), ms. */
    downtimeLimitMs: optional(num()),
    /** --max-downtime: the promise, ms; and, once completed, by how much the real pause exceeded it. */
    maxDowntimeMs: optional(num()),
    downtimeOvershootMs: optional(num()),
    /** suspend-if-needed: how long the guest was paused for the last pass and the switch-over, ms. */
    pausedMs: optional(num()),
    percent: num("0-100, as virsh's progress line"),
    error: optional(text()),
  },
  "libvirt's job statistics (domjobinfo): every counter QEMU reports, bytes and ms",
);
export type JobInfo = Static<typeof jobInfoSchema>;
export type JobType = JobInfo['type'];
