// The job statistics that `ferry domjobinfo` and the job events show: a type of the HTTP API, shared by ferryd and the CLI.

export type JobType = 'None' | 'Unbounded' | 'Completed' | 'Failed' | 'Cancelled';

/** What `ferry domjobinfo` shows: libvirt's job statistics, from QEMU's query-migrate. */
export interface JobInfo {
  type: JobType;
  operation: 'Outgoing migration' | 'Incoming migration' | 'Offline migration';
  /** The migration's phase (Begin, Prepare, Perform, ...). */
  phase?: string;
  /** QEMU's migration status (setup, active, postcopy-active, completed, ...). */
  status?: string;
  timeElapsedMs: number;
  dataProcessed?: number;
  dataRemaining?: number;
  dataTotal?: number;
  /** Disks copied with the migration (live storage migration): bytes mirrored so far and in all. */
  diskProcessed?: number;
  diskRemaining?: number;
  diskTotal?: number;
  memoryBandwidth?: number;
  dirtyRate?: number;
  pageSize?: number;
  iteration?: number;
  postcopyRequests?: number;
  constantPages?: number;
  normalPages?: number;
  normalData?: number;
  expectedDowntimeMs?: number;
  setupTimeMs?: number;
  /** QEMU's own total-time (from `migrate` to completion). */
  qemuTotalTimeMs?: number;
  /** The real downtime, once completed. */
  downtimeMs?: number;
  cpuThrottlePercent?: number;
  /** The migration policy (docs/policies.md), the step it is in and why it was taken. */
  policy?: string;
  policyStep?: string;
  policyReason?: string;
  /** The downtime limit in force (the policy's ramp), ms. */
  downtimeLimitMs?: number;
  /** --max-downtime: the promise, ms; and, once completed, by how much the real pause exceeded it. */
  maxDowntimeMs?: number;
  downtimeOvershootMs?: number;
  /** suspend-if-needed: how long the guest was paused for the last pass and the switch-over, ms. */
  pausedMs?: number;
  /** 0–100 as virsh's progress line computes it. */
  percent: number;
  error?: string;
}
