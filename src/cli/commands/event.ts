import type { Command } from 'commander';
import type { DomainEvent } from '../../host/domain-events.js';
import { type CliContext, connectionFailure } from '../context.js';

/** libvirt's lifecycle event names for a new state. */
function lifecycleWords(e: Extract<DomainEvent, { type: 'domain.lifecycle' }>): string {
  const cap = (s: string): string => s.replace(/(^|\s)\S/g, (c) => c.toUpperCase()).replace(/\s/g, '');
  const state = { running: e.reason === 'booted' ? 'Started' : 'Resumed', paused: 'Suspended', shutoff: 'Stopped', crashed: 'Crashed', shutdown: 'Shutdown' }[e.state as string] ?? cap(e.state);
  return `${state} ${cap(e.reason)}`;
}

export function registerEvent(program: Command, ctx: CliContext): void {
  program
    .command('event')
    .description('print domain events as they happen')
    .option('--domain <domain>', 'only events of this domain')
    .option('--all', 'all event types (ferry sends lifecycle, definition and panic events)')
    .option('--loop', 'keep printing events until interrupted')
    .option('--timeout <seconds>', 'stop after this many seconds')
    .option('--timestamp', 'prefix each event with the time it happened')
    .action(async (opts: { domain?: string; loop?: boolean; timeout?: string; timestamp?: boolean }) => {
      const ac = new AbortController();
      if (opts.timeout) setTimeout(() => ac.abort(), Number(opts.timeout) * 1000).unref();
      process.once('SIGINT', () => ac.abort());
      let count = 0;
      try {
        await ctx.client().events((raw) => {
          const e = raw as unknown as DomainEvent;
          if (opts.domain && e.name !== opts.domain && e.uuid !== opts.domain) return;
          const what =
            e.type === 'domain.lifecycle' ? `event 'lifecycle' for domain '${e.name}': ${lifecycleWords(e)}`
            : e.type === 'domain.panicked' ? `event 'lifecycle' for domain '${e.name}': Crashed Panicked`
            : e.type === 'domain.defined' ? `event 'lifecycle' for domain '${e.name}': Defined Added`
            : `event 'lifecycle' for domain '${e.name}': Undefined Removed`;
          ctx.print(`${opts.timestamp ? `${new Date(e.at).toISOString()}: ` : ''}${what}\n`);
          count++;
          if (!opts.loop) ac.abort();
        }, ac.signal);
      } catch (err) {
        throw connectionFailure(err);
      }
      ctx.print(`events received: ${count}\n\n`);
    });
}
