import type { Command } from 'commander';
import type { DomainSummary } from '../../store/domain-store.js';
import { STATE_LABEL } from '../../vm/domain-state.js';
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
    .option('--name', 'list domain names only')
    .option('--uuid', 'list uuid\'s only')
    .option('--table', 'list table (default)')
    .action(async (opts: ListOptions) => {
      let r: { domains: DomainSummary[] };
      try {
        const states = opts.stateRunning || opts.statePaused || opts.stateShutoff || opts.stateOther;
        const query = opts.all || states ? '?all=true' : opts.inactive ? '?inactive=true' : '';
        r = await ctx.client().get<{ domains: DomainSummary[] }>(`/v1/domains${query}`);
      } catch (err) {
        throw connectionFailure(err);
      }
      const domains = r.domains.filter((d) => {
        if (opts.persistent && !d.persistent) return false;
        if (opts.transient && d.persistent) return false;
        if (opts.stateRunning || opts.statePaused || opts.stateShutoff || opts.stateOther) {
          const other = !['running', 'paused', 'shutoff'].includes(d.state);
          return (opts.stateRunning && d.state === 'running') || (opts.statePaused && d.state === 'paused') ||
            (opts.stateShutoff && d.state === 'shutoff') || (opts.stateOther && other);
        }
        return true;
      });
      if (opts.name || opts.uuid) {
        const lines = domains.map((d) => (opts.name && opts.uuid ? `${d.uuid} ${d.name}` : opts.name ? d.name : d.uuid));
        ctx.print(lines.map((l) => `${l}\n`).join('') + '\n');
        return;
      }
      const rows = domains.map((d) => [d.domainId === null ? '-' : String(d.domainId), d.name, STATE_LABEL[d.state]]);
      ctx.print(`${formatTable(['Id', 'Name', 'State'], rows, { header: !ctx.quiet })}\n`);
    });
}
