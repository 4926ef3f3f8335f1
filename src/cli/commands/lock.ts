import type { Command } from 'commander';
import { FerryError } from '../../errors/ferry-error.js';
import type { HeldLease } from '../../shared/lease.js';
import { CliFailure, type CliContext, connectionFailure } from '../context.js';
import { formatTable } from '../format.js';

export function registerLock(program: Command, ctx: CliContext): void {
  program
    .command('lock-list')
    .description('the disk leases this host holds: resource, mode, domain, disk, process')
    .action(async () => {
      let leases: HeldLease[];
      try {
        ({ leases } = await ctx.client().get<{ leases: HeldLease[] }>('/v1/locks'));
      } catch (err) {
        throw connectionFailure(err);
      }
      const rows = leases.map((l) => [
        l.label === l.resource ? l.resource : `${l.label} (${l.resource})`,
        l.mode,
        l.owner.name,
        l.disk,
        String(l.owner.pid),
        new Date(l.since).toISOString(),
      ]);
      ctx.print(`${formatTable(['Resource', 'Mode', 'Domain', 'Disk', 'Pid', 'Since'], rows)}\n`);
    });

  program
    .command('lock-clear')
    .description('remove a stale lock, after checking that no reachable host holds it or runs its domain')
    .argument('<resource>', 'the locked resource, as lock-list or the "is locked" error names it (a path, or a lockspace file)')
    .option('--peer <uri...>', 'other ferryd hosts to ask (besides the peers in ferryd.conf)')
    .option('--force', 'clear a lock that is still held by a holder no reachable host knows (a host that is down)')
    .addHelpText(
      'after',
      '\nThe seed\'s advice "make sure the VM is not running anywhere, then delete the lock files", done by ferry:\nit asks every reachable host, refuses while any of them runs the domain, and only then has ferry-lockd remove the lock file.\nOnly a lock file ferry made directly in a lockspace directory (file_lockspace_dir, lvm_lockspace_dir, scsi_lockspace_dir)\nis ever removed: any other path is refused (LOCK_CLEAR_REFUSED), a disk image included.\n',
    )
    .action(async (resource: string, o: { peer?: string[]; force?: boolean }) => {
      try {
        const r = await ctx
          .client()
          .post<{ checked: string[]; unreachable: string[] }>('/v1/locks/clear', { resource, ...(o.peer ? { peers: o.peer } : {}), force: o.force ?? false });
        for (const u of r.unreachable) ctx.output.err(`warning: could not ask ${u}\n`);
        ctx.say(`Lock on '${resource}' cleared (checked: ${r.checked.join(', ')})\n`);
      } catch (err) {
        if (err instanceof FerryError && err.code !== 'CONNECT_FAILED')
          throw new CliFailure([`Failed to clear lock '${resource}'`, err.message], err.hint, err.code);
        throw connectionFailure(err);
      }
    });
}
