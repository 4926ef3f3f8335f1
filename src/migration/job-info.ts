import type { QemuMigrationInfo } from '../qemu/migration-monitor.js';

import type { JobInfo, JobType } from '../shared/job-info.js';

/** Builds the job statistics from query-migrate; elapsed time is ferry's own (from Begin). */
export function jobInfoFromQemu(info: QemuMigrationInfo, base: { operation: JobInfo['operation']; phase?: string; startedAt: number; now: number }): JobInfo {
  const ram = info.ram;
  const status = info.status ?? 'none';
  const type: JobType = status === 'completed' ? 'Completed' : status === 'failed' ? 'Failed' : status === 'cancelled' ? 'Cancelled' : 'Unbounded';
  const job: JobInfo = {
    type,
    operation: base.operation,
    status,
    timeElapsedMs: base.now - base.startedAt,
    percent: progressPercent(info),
  };
  if (base.phase) job.phase = base.phase;
  if (ram) {
    job.dataProcessed = ram.transferred;
    job.dataRemaining = ram.remaining;
    job.dataTotal = ram.total;
    job.memoryBandwidth = Math.round((ram.mbps * 1e6) / 8);
    job.dirtyRate = ram['dirty-pages-rate'];
    job.pageSize = ram['page-size'];
    job.iteration = ram['dirty-sync-count'];
    job.postcopyRequests = ram['postcopy-requests'];
    job.constantPages = ram.duplicate;
    job.normalPages = ram.normal;
    job.normalData = ram['normal-bytes'];
  }
  if (info['expected-downtime'] !== undefined) job.expectedDowntimeMs = info['expected-downtime'];
  if (info['setup-time'] !== undefined) job.setupTimeMs = info['setup-time'];
  if (info['total-time'] !== undefined) job.qemuTotalTimeMs = info['total-time'];
  if (info.downtime !== undefined) job.downtimeMs = info.downtime;
  if (info['cpu-throttle-percentage'] !== undefined) job.cpuThrottlePercent = info['cpu-throttle-percentage'];
  if (info['error-desc']) job.error = info['error-desc'];
  return job;
}

/** virsh's progress: 100 − 100 × remaining / total, 100 once completed. */
export function progressPercent(info: QemuMigrationInfo): number {
  if (info.status === 'completed') return 100;
  const ram = info.ram;
  if (!ram || ram.total <= 0) return 0;
  const p = Math.floor(100 - (100 * ram.remaining) / ram.total);
  return Math.max(0, Math.min(99, p));
}
