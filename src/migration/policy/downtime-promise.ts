import type { JobInfo } from '../../shared/job-info.js';
import type { PolicyPlan } from './policy-plan.js';

/**
 * The downtime promise kept or missed: the guest's real pause (QEMU's own `downtime`, or, when the policy
 * paused the guest for the last pass, the whole pause ferry saw) against --max-downtime.
 */
export function downtimeVerdict(plan: PolicyPlan | undefined, job: JobInfo): { job: Partial<JobInfo>; pausedMs?: number; overshootMs?: number } {
  const promise = plan?.maxDowntimeMs;
  const paused = Math.max(job.downtimeMs ?? 0, job.pausedMs ?? 0);
  if (promise === undefined || (job.downtimeMs === undefined && job.pausedMs === undefined)) return { job: {} };
  if (paused <= promise) return { job: { maxDowntimeMs: promise }, pausedMs: paused };
  const overshootMs = paused - promise;
  return { job: { maxDowntimeMs: promise, downtimeOvershootMs: overshootMs }, pausedMs: paused, overshootMs };
}
