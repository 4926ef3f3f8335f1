import type { Command } from 'commander';
import type { DomainEvent } from '../../host/domain-events.js';
import { type CliContext, connectionFailure } from '../context.js';
import { LIMITS, numeric } from '../numeric.js';

/** libvirt's lifecycle event names for a new state. */
function lifecycleWords(e: Extract<DomainEvent, { type: 'domain.lifecycle' }>): string {
  const cap = (s: string): string => s.replace(/(^|\s)\S/g, (c) => c.toUpperCase()).replace(/\s/g, '');
  const state = { running: e.reason === 'booted' ? 'Started' : 'Resumed', paused: 'Suspended', shutoff: 'Stopped', crashed: 'Crashed', shutdown: 'Shutdown' }[e.state as string] ?? cap(e.state);
  return `${state} ${cap(e.reason)}`;
}

/**
 * One event as virsh's `event` prints it, or undefined when it is not shown:
 * lifecycle events always, the others with --all (libvirt's event names where
 * it has one; a migration shows each new iteration, a block copy when it is ready).
 */
export function eventLine(e: DomainEvent, all: boolean, seen: Map<string, number>): string | undefined {
  const on = `for domain '${e.name}'`;
  switch (e.type) {
    case 'domain.lifecycle':
      return `event 'lifecycle' ${on}: ${lifecycleWords(e)}`;
    case 'domain.panicked':
      return `event 'lifecycle' ${on}: Crashed Panicked`;
    case 'domain.defined':
      return `event 'lifecycle' ${on}: Defined Added`;
    case 'domain.undefined':
      return `event 'lifecycle' ${on}: Undefined Removed`;
    case 'domain.lockfailure':
      return all ? `event 'lock-failure' ${on}: resource '${e.resource}', action ${e.action}` : undefined;
    case 'migration.phase':
      return all ? `event 'migration-phase' ${on}: ${e.side} ${e.from} -> ${e.to}` : undefined;
    case 'migration.progress': {
      const iteration = e.job.iteration ?? 0;
      if (!all || iteration === 0 || seen.get(`${e.id} iteration`) === iteration) return undefined;
      seen.set(`${e.id} iteration`, iteration);
      return `event 'migration-iteration' ${on}: iteration: '${iteration}'`;
    }
    case 'blockjob.progress': {
      if (!all || !e.ready || seen.has(`${e.uuid} ${e.disk} ready`)) return undefined;
      seen.set(`${e.uuid} ${e.disk} ready`, 1);
      return `event 'block-job' ${on}: Block Copy for ${e.disk} ready`;
    }
  }
}

export function registerEvent(program: Command, ctx: CliContext): void {
  program
    .command('event')
    .description('print domain events as they happen')
    .option('--domain <domain>', 'only events of this domain')
    .option('--all', 'all event types: also lock failures, migration phases and iterations, block copies ready')
    .option('--loop', 'keep printing events until interrupted')
    .option('--timeout <seconds>', 'stop after this many seconds', numeric({ name: 'timeout', min: 1, max: LIMITS.seconds }))
    .option('--timestamp', 'prefix each event with the time it happened')
    .action(async (opts: { domain?: string; all?: boolean; loop?: boolean; timeout?: number; timestamp?: boolean }) => {
      const ac = new AbortController();
      if (opts.timeout !== undefined) setTimeout(() => ac.abort(), opts.timeout * 1000).unref();
      process.once('SIGINT', () => ac.abort());
      let count = 0;
      const seen = new Map<string, number>();
      try {
        await ctx.client().events((raw) => {
          const e = raw as unknown as DomainEvent;
          if (opts.domain && e.name !== opts.domain && e.uuid !== opts.domain) return;
          const what = eventLine(e, opts.all ?? false, seen);
          if (what === undefined) return;
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
