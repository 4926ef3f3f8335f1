import type { Command } from 'commander';
import type { DomainSummary } from '../../shared/api-types.js';
import { STATE_LABEL } from '../../shared/domain-state.js';
import { type CliContext, connectionFailure } from '../context.js';
import { formatTable } from '../format.js';

interface ListOptions {
  all?: boolean;
  inactive?: boolean;
  name?: boolean;
  uuid?: boolean;
  table?: boolean;
  persistent?: boolean;
  transient?: boolean;
  stateRunning?: boolean;
  statePaused?: boolean;
  stateShutoff?: boolean;
  stateOther?: boolean;
  withManagedSave?: boolean;
  withoutManagedSave?: boolean;
  managedSave?: boolean;
}

export function registerList(program: Command, ctx: CliContext): void {
  program
    .command('list')
    .description('list domains (running ones unless --all or --inactive)')
    .option('--all', 'list inactive and active domains')
    .option('--inactive', 'list inactive domains')
    .option('--persistent', 'list persistent domains')
    .option('--transient', 'list transient domains')
    .option('--state-running', 'list domains in running state')
    .option('--state-paused', 'list domains in paused state')
    .option('--state-shutoff', 'list domains in shutoff state')
    .option('--state-other', 'list domains in other states')
    .option('--with-managed-save', 'list domains with managed save state')
    .option('--without-managed-save', 'list domains without managed save')
    .option('--managed-save', 'mark inactive domains with managed save state')
    .option('--name', 'list domain names only')
    .option('--uuid', "list uuid's only")
    .option('--table', 'list table (default)')
    .action(async (opts: ListOptions) => {
      let r: { domains: Array<DomainSummary & { managedSave?: boolean }> };
      try {
        const states = opts.stateRunning || opts.statePaused || opts.stateShutoff || opts.stateOther;
        const query = opts.all || states ? '?all=true' : opts.inactive ? '?inactive=true' : '';
        r = await ctx.client().get<{ domains: Array<DomainSummary & { managedSave?: boolean }> }>(`/v1/domains${query}`);
      } catch (err) {
        throw connectionFailure(err);
      }
      const domains = r.domains.filter((d) => {
        if (opts.persistent && !d.persistent) return false;
        if (opts.transient && d.persistent) return false;
        if (opts.withManagedSave && !d.managedSave) return false;
        if (opts.withoutManagedSave && d.managedSave) return false;
        if (opts.stateRunning || opts.statePaused || opts.stateShutoff || opts.stateOther) {
          const other = !['running', 'paused', 'shutoff'].includes(d.state);
          return (
            (opts.stateRunning && d.state === 'running') ||
            (opts.statePaused && d.state === 'paused') ||
            (opts.stateShutoff && d.state === 'shutoff') ||
            (opts.stateOther && other)
          );
        }
        return true;
      });
      if (opts.name || opts.uuid) {
        const lines = domains.map((d) => (opts.name && opts.uuid ? `${d.uuid} ${d.name}` : opts.name ? d.name : d.uuid));
        ctx.print(lines.map((l) => `${l}\n`).join('') + '\n');
        return;
      }
      // --managed-save: a shut-off domain with an image shows as "saved", as virsh does.
      const rows = domains.map((d) => [
        d.domainId === null ? '-' : String(d.domainId),
        d.name,
        opts.managedSave && d.managedSave ? 'saved' : STATE_LABEL[d.state],
      ]);
      ctx.print(`${formatTable(['Id', 'Name', 'State'], rows, { header: !ctx.quiet })}\n`);
    });
}
