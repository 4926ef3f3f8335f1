import type { Command } from 'commander';
import type { JobInfo } from '../../shared/job-info.js';
import { prettyCapacity } from '../../shared/volume.js';
import { CliFailure, type CliContext, domainArg, domainOp, enc } from '../context.js';
import { LIMITS, numeric } from '../numeric.js';

const downtimeParser = numeric({ name: 'downtime', min: 1, max: LIMITS.downtimeMs, belowMin: 'migrate: Invalid downtime' });
const speedParser = numeric({ name: 'bandwidth', min: 0, max: LIMITS.mibPerSecond });

/** domjobinfo's lines, in virsh's layout. */
export function formatJobInfo(j: JobInfo): string {
  const lines: string[] = [];
  const row = (label: string, value: string): void => void lines.push(`${label.padEnd(17)} ${value}`);
  const n = (v: number, unit: string): string => `${String(v).padEnd(12)} ${unit}`.trimEnd();
  row('Job type:', j.type);
  if (j.type === 'None') return `${lines.join('\n')}\n\n`;
  row('Operation:', j.operation);
  if (j.phase) row('Phase:', j.phase);
  row('Time elapsed:', n(j.timeElapsedMs, 'ms'));
  if (j.dataProcessed !== undefined) row('Data processed:', prettyCapacity(j.dataProcessed, 3));
  if (j.dataRemaining !== undefined) row('Data remaining:', prettyCapacity(j.dataRemaining, 3));
  if (j.dataTotal !== undefined) row('Data total:', prettyCapacity(j.dataTotal, 3));
  if (j.diskTotal !== undefined) {
    row('File processed:', prettyCapacity(j.diskProcessed ?? 0, 3));
    row('File remaining:', prettyCapacity(j.diskRemaining ?? 0, 3));
    row('File total:', prettyCapacity(j.diskTotal, 3));
  }
  if (j.dataProcessed !== undefined) row('Memory processed:', prettyCapacity(j.dataProcessed, 3));
  if (j.dataRemaining !== undefined) row('Memory remaining:', prettyCapacity(j.dataRemaining, 3));
  if (j.dataTotal !== undefined) row('Memory total:', prettyCapacity(j.dataTotal, 3));
  if (j.memoryBandwidth !== undefined) row('Memory bandwidth:', `${prettyCapacity(j.memoryBandwidth, 3)}/s`);
  if (j.dirtyRate !== undefined) row('Dirty rate:', n(j.dirtyRate, 'pages/s'));
  if (j.pageSize !== undefined) row('Page size:', n(j.pageSize, 'bytes'));
  if (j.iteration !== undefined) row('Iteration:', String(j.iteration));
  if (j.postcopyRequests !== undefined) row('Postcopy requests:', String(j.postcopyRequests));
  if (j.constantPages !== undefined) row('Constant pages:', String(j.constantPages));
  if (j.normalPages !== undefined) row('Normal pages:', String(j.normalPages));
  if (j.normalData !== undefined) row('Normal data:', prettyCapacity(j.normalData, 3));
  if (j.type === 'Unbounded' && j.expectedDowntimeMs !== undefined) row('Expected downtime:', n(j.expectedDowntimeMs, 'ms'));
  if (j.downtimeMs !== undefined) row('Total downtime:', n(j.downtimeMs, 'ms'));
  if (j.setupTimeMs !== undefined) row('Setup time:', n(j.setupTimeMs, 'ms'));
  if (j.qemuTotalTimeMs !== undefined) row('QEMU total time:', n(j.qemuTotalTimeMs, 'ms'));
  if (j.cpuThrottlePercent !== undefined && j.cpuThrottlePercent > 0) row('Auto converge throttle:', String(j.cpuThrottlePercent));
  if (j.postcopy) row('Post-copy:', j.postcopy);
  if (j.policy) row('Policy:', j.policy);
  if (j.policyStep) row('Policy step:', j.policyReason ? `${j.policyStep}: ${j.policyReason}` : j.policyStep);
  if (j.type === 'Unbounded' && j.downtimeLimitMs !== undefined) row('Downtime limit:', n(j.downtimeLimitMs, 'ms'));
  if (j.maxDowntimeMs !== undefined) row('Max downtime:', n(j.maxDowntimeMs, 'ms'));
  if (j.pausedMs !== undefined) row('Paused:', n(j.pausedMs, 'ms'));
  if (j.downtimeOvershootMs !== undefined) row('Downtime overshoot:', n(j.downtimeOvershootMs, 'ms'));
  if (j.error) row('Error message:', j.error);
  return `${lines.join('\n')}\n\n`;
}

function withDomain(cmd: Command): Command {
  return cmd.argument('[domain]', 'domain name, id or uuid').option('--domain <domain>', 'domain name, id or uuid');
}

export function registerJobControl(program: Command, ctx: CliContext): void {
  withDomain(program.command('domjobinfo').description("domain job information: a running migration's progress, or the last one with --completed"))
    .option('--completed', 'information about the last completed job')
    .option('--keep-completed', 'accepted for compatibility (ferry keeps completed job statistics)')
    .action(async (positional: string | undefined, opts: { domain?: string; completed?: boolean }) => {
      const ref = domainArg(positional, opts);
      const { job } = await domainOp(ref, undefined, () =>
        ctx.client().get<{ job: JobInfo }>(`/v1/domains/${enc(ref)}/job${opts.completed ? '?completed=true' : ''}`),
      );
      ctx.print(formatJobInfo(job));
    });

  withDomain(program.command('domjobabort').description("abort the domain's active job (a migration; the domain stays on the source)"))
    .option('--postcopy', 'accepted for compatibility: a post-copy migration cannot be aborted')
    .action(async (positional: string | undefined, opts: { domain?: string }) => {
      const ref = domainArg(positional, opts);
      await domainOp(ref, undefined, () => ctx.client().post(`/v1/domains/${enc(ref)}/job/abort`));
    });

  withDomain(program.command('migrate-postcopy').description('switch a running migration from pre-copy to post-copy')).action(
    async (positional: string | undefined, opts: { domain?: string }) => {
      const ref = domainArg(positional, opts);
      await domainOp(ref, undefined, () => ctx.client().post(`/v1/domains/${enc(ref)}/job/postcopy`));
    },
  );

  withDomain(program.command('migrate-setmaxdowntime').description('set the maximum tolerable downtime of a migration (applies to a running one too)'))
    .argument('[downtime]', 'maximum tolerable downtime in milliseconds', downtimeParser)
    .option('--downtime <ms>', 'maximum tolerable downtime in milliseconds', downtimeParser)
    .addHelpText(
      'after',
      `
Without it a live migration follows ferry's downtime schedule: 50 ms first, raised a step
(100, 150, 200) for each pass that does not converge, up to 300 ms. A value set here is used
from the start to the end instead (docs/migration.md).`,
    )
    .action(async (positional: string | undefined, posDowntime: number | undefined, opts: { domain?: string; downtime?: number }) => {
      const ref = domainArg(positional, opts);
      const ms = posDowntime ?? opts.downtime;
      if (ms === undefined)
        throw new CliFailure(
          ["command 'migrate-setmaxdowntime' requires <downtime> option"],
          'Give the downtime in milliseconds, e.g. 500',
          'INVALID_ARGUMENT',
        );
      await domainOp(ref, undefined, () => ctx.client().put(`/v1/domains/${enc(ref)}/migration/max-downtime`, { downtime: ms }));
    });

  withDomain(program.command('migrate-getmaxdowntime').description('get the maximum tolerable downtime of a migration')).action(
    async (positional: string | undefined, opts: { domain?: string }) => {
      const ref = domainArg(positional, opts);
      const r = await domainOp(ref, undefined, () => ctx.client().get<{ downtime: number }>(`/v1/domains/${enc(ref)}/migration/max-downtime`));
      ctx.print(`${r.downtime}\n\n`);
    },
  );

  withDomain(program.command('migrate-setspeed').description('set the maximum migration bandwidth in MiB/s (applies to a running migration too)'))
    .argument('[bandwidth]', 'migration bandwidth limit in MiB/s (0: unlimited)', speedParser)
    .option('--bandwidth <MiB/s>', 'migration bandwidth limit in MiB/s', speedParser)
    .option('--postcopy', 'not supported: post-copy bandwidth is unlimited')
    .action(async (positional: string | undefined, posBw: number | undefined, opts: { domain?: string; bandwidth?: number; postcopy?: boolean }) => {
      const ref = domainArg(positional, opts);
      if (opts.postcopy) throw new CliFailure(['migrate-setspeed: --postcopy is not supported'], undefined, 'NOT_SUPPORTED');
      const bw = posBw ?? opts.bandwidth;
      if (bw === undefined)
        throw new CliFailure(
          ["command 'migrate-setspeed' requires <bandwidth> option"],
          'Give the bandwidth in MiB/s, e.g. 100 (0: unlimited)',
          'INVALID_ARGUMENT',
        );
      await domainOp(ref, undefined, () => ctx.client().put(`/v1/domains/${enc(ref)}/migration/speed`, { bandwidth: bw }));
    });

  withDomain(program.command('migrate-getspeed').description('get the maximum migration bandwidth in MiB/s'))
    .option('--postcopy', 'not supported')
    .action(async (positional: string | undefined, opts: { domain?: string }) => {
      const ref = domainArg(positional, opts);
      const r = await domainOp(ref, undefined, () => ctx.client().get<{ bandwidth: number }>(`/v1/domains/${enc(ref)}/migration/speed`));
      ctx.print(`${r.bandwidth}\n\n`);
    });
}
