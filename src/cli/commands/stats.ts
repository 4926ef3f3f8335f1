import type { Command } from 'commander';
import type { BlockCounters, TypedParam } from '../../shared/api-types.js';
import { FerryError } from '../../errors/ferry-error.js';
import { type CliContext, CliFailure, domainFailure, enc } from '../context.js';
import { formatDomblkstat, formatDomstats } from '../stats-format.js';

const GROUP_OPTIONS = [
  ['state', '--state', 'report domain state'],
  ['cpu-total', '--cpu-total', 'report domain physical cpu usage'],
  ['balloon', '--balloon', 'report domain balloon statistics'],
  ['vcpu', '--vcpu', 'report domain virtual cpu information'],
  ['interface', '--interface', 'report domain network interface information'],
  ['block', '--block', 'report domain block device statistics'],
] as const;

const LIST_OPTIONS = ['active', 'inactive', 'persistent', 'transient', 'running', 'paused', 'shutoff', 'other'] as const;

type DomstatsOptions = Record<string, boolean | undefined>;

const camel = (s: string): string => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** virsh's domstats and domblkstat (domifstat is in domif.ts, dommemstat in memory.ts). */
export function registerStats(program: Command, ctx: CliContext): void {
  const domstats = program
    .command('domstats')
    .description('get statistics about one or multiple domains')
    .argument('[domain...]', 'domain names, ids or uuids (default: all)');
  for (const [, flag, help] of GROUP_OPTIONS) domstats.option(flag, help);
  for (const f of LIST_OPTIONS) domstats.option(`--list-${f}`, `list only ${f} domains`);
  domstats
    .option('--raw', 'do not pretty-print the fields')
    .option('--enforce', 'enforce requested stats parameters')
    .option('--backing', 'add backing chain information to block stats')
    .option('--nowait', 'report only stats that are accessible instantly')
    .action(async (refs: string[], opts: DomstatsOptions) => {
      const q = new URLSearchParams();
      for (const [group] of GROUP_OPTIONS) if (opts[camel(group)]) q.append('group', group);
      for (const f of LIST_OPTIONS) if (opts[camel(`list-${f}`)]) q.append('filter', f);
      for (const r of refs) q.append('domain', r);
      let r: { domains: Array<{ name: string; params: TypedParam[] }> };
      try {
        r = await ctx.client().get(`/v1/domain-stats${q.size > 0 ? `?${q}` : ''}`);
      } catch (err) {
        const ref = err instanceof FerryError && typeof err.details.domain === 'string' ? err.details.domain : (refs[0] ?? '');
        throw domainFailure(err, ref);
      }
      ctx.print(`${formatDomstats(r.domains)}\n`);
    });

  program
    .command('domblkstat')
    .description('get device block stats for a domain')
    .argument('<domain>', 'domain name, id or uuid')
    .argument('[device]', 'block device: target (vda) or source path; none: the sum over all disks')
    .option('--human', 'print a more human readable output')
    .action(async (ref: string, device: string | undefined, opts: { human?: boolean }) => {
      const dev = device ?? '';
      let stats: BlockCounters;
      try {
        ({ stats } = await ctx.client().get<{ stats: BlockCounters }>(`/v1/domains/${enc(ref)}/block-stats?device=${enc(dev)}`));
      } catch (err) {
        const f = domainFailure(err, ref);
        if (err instanceof FerryError && err.code !== 'DOMAIN_NOT_FOUND' && err.code !== 'CONNECT_FAILED') {
          throw new CliFailure([`Failed to get block stats for domain '${ref}' device '${dev}'`, err.message], err.hint, err.code);
        }
        throw f;
      }
      ctx.print(`${formatDomblkstat(dev, stats, opts.human ?? false)}\n`);
    });
}
