import type { Command } from 'commander';
import type { BlockJobStatus } from '../../shared/api-types.js';
import { CliFailure, type CliContext, domainOp, enc } from '../context.js';
import { numeric } from '../numeric.js';

/** The copy's speed goes to the API in bytes/s, which must stay an exact JSON integer. */
const BLOCKCOPY_MAX_MIBS = Math.floor(Number.MAX_SAFE_INTEGER / (1024 * 1024));

/** virsh names the disk by target (vda) or by source path; ferry's API wants the target. */
async function diskTarget(ctx: CliContext, ref: string, path: string): Promise<string> {
  if (!path.includes('/')) return path;
  const { disks } = await domainOp(ref, undefined, () =>
    ctx.client().get<{ disks: Array<{ target: string; source: string }> }>(`/v1/domains/${enc(ref)}/disks`),
  );
  const d = disks.find((x) => x.source === path || x.source.endsWith(`/${path.split('/').pop()}`));
  if (!d)
    throw new CliFailure(
      [`invalid argument: disk '${path}' not found in domain`],
      'Name the disk by its target ("ferry domblklist <domain>")',
      'DISK_NOT_FOUND',
    );
  return d.target;
}

function progressLine(s: BlockJobStatus): string {
  return `Block Copy: [${String(s.ready ? 100 : Math.min(99, s.percent)).padStart(3)} %]`;
}

export function registerBlockCopy(program: Command, ctx: CliContext): void {
  program
    .command('blockcopy')
    .description('copy a disk of a running domain to a new image while the guest keeps running (live storage migration between pools)')
    .argument('<domain>', 'domain name, id or uuid')
    .argument('<path>', 'the disk: its target (vda) or source path')
    .argument('[dest]', 'path of the copy (or use --pool)')
    .option('--pool <pool>', 'copy into this storage pool, under the same volume name')
    .option('--format <format>', "format of the copy: raw or qcow2 (default: the disk's)")
    .option('--wait', 'wait until the copy is in step with the disk')
    .option('--verbose', 'with --wait, show progress')
    .option('--pivot', 'once in step, switch the guest to the copy (its definition follows)')
    .option('--finish', 'once in step, stop copying and keep a consistent copy; the guest stays on its disk')
    .option('--bandwidth <MiB/s>', 'copy bandwidth limit in MiB/s', numeric({ name: 'bandwidth', min: 0, max: BLOCKCOPY_MAX_MIBS }))
    .option('--reuse-external', 'copy into an existing image at the destination')
    .addHelpText('after', '\nExample (move vda to pool P2 while the guest runs):\n  ferry blockcopy vm1 vda --pool P2 --wait --verbose --pivot\n')
    .action(
      async (
        ref: string,
        path: string,
        dest: string | undefined,
        o: {
          pool?: string;
          format?: string;
          wait?: boolean;
          verbose?: boolean;
          pivot?: boolean;
          finish?: boolean;
          bandwidth?: number;
          reuseExternal?: boolean;
        },
      ) => {
        if (o.pivot && o.finish) throw new CliFailure(['Options --pivot and --finish are mutually exclusive'], undefined, 'INVALID_ARGUMENT');
        if (!dest && !o.pool) throw new CliFailure(["command 'blockcopy' requires <dest> or --pool"], undefined, 'INVALID_ARGUMENT');
        const dev = await diskTarget(ctx, ref, path);
        const bandwidth = o.bandwidth === undefined ? undefined : o.bandwidth * 1024 * 1024;
        await domainOp(ref, 'copy', () =>
          ctx.client().post(`/v1/domains/${enc(ref)}/disks/${enc(dev)}/copy`, {
            ...(o.pool ? { pool: o.pool } : {}),
            ...(dest ? { dest } : {}),
            ...(o.format ? { format: o.format } : {}),
            ...(bandwidth !== undefined ? { bandwidth } : {}),
            ...(o.reuseExternal ? { reuseExternal: true } : {}),
          }),
        );
        if (!o.wait && !o.pivot && !o.finish) {
          ctx.say('Block Copy started');
          return;
        }
        for (;;) {
          const { job } = await domainOp(ref, undefined, () => ctx.client().get<{ job: BlockJobStatus }>(`/v1/domains/${enc(ref)}/disks/${enc(dev)}/job`));
          if (o.verbose) ctx.output.err(`\r${progressLine(job)}`);
          if (job.ready) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        if (o.verbose) ctx.output.err('\n');
        if (o.pivot) {
          await domainOp(ref, 'pivot', () => ctx.client().post(`/v1/domains/${enc(ref)}/disks/${enc(dev)}/job/pivot`));
          ctx.say('\nSuccessfully pivoted');
        } else if (o.finish) {
          await domainOp(ref, 'finish', () => ctx.client().post(`/v1/domains/${enc(ref)}/disks/${enc(dev)}/job/finish`));
          ctx.say('\nSuccessfully copied');
        } else {
          ctx.say('\nNow in mirroring phase');
        }
      },
    );

  program
    .command('blockjob')
    .description('manage the active block job of a disk: show it (--info), --pivot, or --abort it')
    .argument('<domain>', 'domain name, id or uuid')
    .argument('<path>', 'the disk: its target (vda) or source path')
    .option('--info', "show the job's progress (the default)")
    .option('--pivot', 'switch the guest to the copy of a block copy that is in step')
    .option('--abort', 'abandon the job (a copy ferry created is removed)')
    .action(async (ref: string, path: string, o: { pivot?: boolean; abort?: boolean }) => {
      const dev = await diskTarget(ctx, ref, path);
      if (o.pivot || o.abort) {
        const action = o.pivot ? 'pivot' : 'abort';
        await domainOp(ref, action, () => ctx.client().post(`/v1/domains/${enc(ref)}/disks/${enc(dev)}/job/${action}`));
        return;
      }
      try {
        const { job } = await ctx.client().get<{ job: BlockJobStatus }>(`/v1/domains/${enc(ref)}/disks/${enc(dev)}/job`);
        ctx.print(`${progressLine(job)}\n`);
      } catch {
        ctx.print(`No current block job for ${dev}\n\n`);
      }
    });
}
