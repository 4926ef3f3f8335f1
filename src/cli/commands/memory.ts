import type { Command } from 'commander';
import type { MemoryStat } from '../../shared/api-types.js';
import { isActiveState, type DomainState } from '../../shared/domain-state.js';
import { type CliContext, CliFailure, domainOp, enc } from '../context.js';
import { LIMITS, numeric } from '../numeric.js';

interface ScopeOptions {
  live?: boolean;
  config?: boolean;
  current?: boolean;
}

function withScope(cmd: Command): Command {
  return cmd
    .option('--config', 'change the persistent definition (takes effect at the next start)')
    .option('--live', 'change the running domain')
    .option('--current', 'the running domain if it runs, else the persistent definition (the default)');
}

/** virsh's --live/--config/--current: --current (or none) means live for a running domain, config for one that is off. */
async function scopeOf(ctx: CliContext, ref: string, opts: ScopeOptions): Promise<{ live: boolean; config: boolean }> {
  if (opts.current && (opts.live || opts.config)) {
    throw new CliFailure(['Options --current and --live are mutually exclusive'], 'Give --current alone, or --live and/or --config', 'INVALID_ARGUMENT');
  }
  if (opts.live || opts.config) return { live: opts.live ?? false, config: opts.config ?? false };
  const s = await domainOp(ref, undefined, () => ctx.client().get<{ state: DomainState }>(`/v1/domains/${enc(ref)}/state`));
  const active = isActiveState(s.state);
  return { live: active, config: !active };
}

/** dommemstat (the balloon's statistics, or --period to set how often the guest reports them) and setmem. */
export function registerMemory(program: Command, ctx: CliContext): void {
  withScope(
    program.command('dommemstat').description('memory statistics of a running domain (from its balloon), or --period to set how often the guest reports them'),
  )
    .argument('<domain>', 'domain name, id or uuid')
    .option(
      '--period <seconds>',
      "seconds between the guest's statistics reports (0: off); prints nothing",
      numeric({ name: 'period', min: 0, max: LIMITS.seconds }),
    )
    .action(async (ref: string, opts: ScopeOptions & { period?: number }) => {
      if (opts.period !== undefined) {
        const scope = await scopeOf(ctx, ref, opts);
        await domainOp(ref, undefined, () => ctx.client().put(`/v1/domains/${enc(ref)}/memory-stats-period`, { period: opts.period, ...scope }));
        return;
      }
      const { stats } = await domainOp(ref, 'get memory statistics for', () =>
        ctx.client().get<{ stats: MemoryStat[] }>(`/v1/domains/${enc(ref)}/memory-stats`),
      );
      ctx.print(`${stats.map((s) => `${s.tag} ${s.value}\n`).join('')}\n`);
    });

  withScope(program.command('setmem').description("change a domain's current memory (the balloon's target while it runs)"))
    .argument('<domain>', 'domain name, id or uuid')
    .argument(
      '<size>',
      'new memory size: KiB, or with a unit (512M, 1G)',
      numeric({ name: 'size', min: 1, max: Number.MAX_SAFE_INTEGER, size: true, sizeInKiB: true }),
    )
    .action(async (ref: string, kib: number, opts: ScopeOptions) => {
      const scope = await scopeOf(ctx, ref, opts);
      await domainOp(ref, 'set memory of', () => ctx.client().put(`/v1/domains/${enc(ref)}/memory`, { kib, ...scope }));
    });
}
