import type { Command } from 'commander';
import type { DomainEvent } from '../../shared/domain-events.js';
import { FerryError } from '../../errors/ferry-error.js';
import { type CliContext, connectionFailure } from '../context.js';
import { LIMITS, numeric } from '../numeric.js';
import { followEvents } from '../event-follower.js';
import type { EventsLost } from '../../shared/event-stream-protocol.js';

/** Why ferryd could not replay every event since the last one seen (shared/event-stream-protocol.ts). */
const LOST_WORDS: Record<EventsLost['reason'], string> = {
  restarted: 'ferryd restarted while the stream was down',
  expired: 'more events happened while the stream was down than ferryd keeps',
  'unknown-id': 'ferryd does not know the last event seen',
};

/** libvirt's lifecycle event names for a new state. */
function lifecycleWords(e: Extract<DomainEvent, { type: 'domain.lifecycle' }>): string {
  const cap = (s: string): string => s.replace(/(^|\s)\S/g, (c) => c.toUpperCase()).replace(/\s/g, '');
  const state =
    { running: e.reason === 'booted' ? 'Started' : 'Resumed', paused: 'Suspended', shutoff: 'Stopped', crashed: 'Crashed', shutdown: 'Shutdown' }[
      e.state as string
    ] ?? cap(e.state);
  return `${state} ${cap(e.reason)}`;
}

/**
 * One event as virsh's `event` prints it, or undefined when it is not shown:
 * lifecycle events always, the others with --all (libvirt's event names where
 * it has one; a migration shows each new iteration, a block copy when it is ready).
 */
export function eventLine(e: DomainEvent, all: boolean, seen: Map<string, number>, only?: string): string | undefined {
  const line = eventText(e, all || only !== undefined, seen);
  if (line === undefined) return undefined;
  const name = /^event '([^']+)'/.exec(line)?.[1];
  return only === undefined || name === only ? line : undefined;
}

/** virsh's event names (`virsh event --list`) that ferry reports. */
export const EVENT_NAMES = ['lifecycle', 'watchdog', 'lock-failure', 'migration-phase', 'migration-iteration', 'migration-step', 'block-job'] as const;

function eventText(e: DomainEvent, all: boolean, seen: Map<string, number>): string | undefined {
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
    case 'domain.watchdog':
      return all ? `event 'watchdog' ${on}: ${e.action}` : undefined;
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
    case 'migration.step':
      return all ? `event 'migration-step' ${on}: policy ${e.policy}, pass ${e.pass}: ${e.step}: ${e.reason}` : undefined;
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
    .option('--event <name>', `only events of this type (${EVENT_NAMES.join(', ')})`)
    .option('--all', 'all event types: also watchdogs, lock failures, migration phases and iterations, block copies ready')
    .option('--loop', 'keep printing events until interrupted (after a dropped connection, e.g. ferryd restarting, it reconnects and prints the events missed)')
    .option('--timeout <seconds>', 'stop after this many seconds', numeric({ name: 'timeout', min: 1, max: LIMITS.seconds }))
    .option('--timestamp', 'prefix each event with the time it happened')
    .action(async (opts: { domain?: string; event?: string; all?: boolean; loop?: boolean; timeout?: number; timestamp?: boolean }) => {
      if (opts.event !== undefined && !(EVENT_NAMES as readonly string[]).includes(opts.event)) {
        throw new FerryError('INVALID_ARGUMENT', `invalid argument: unknown event type ${opts.event}`);
      }
      const ac = new AbortController();
      if (opts.timeout !== undefined) setTimeout(() => ac.abort(), opts.timeout * 1000).unref();
      process.once('SIGINT', () => ac.abort());
      let count = 0;
      const seen = new Map<string, number>();
      try {
        // A dropped stream (ferryd restarting) is resumed where it stopped (Last-Event-ID): no event lost or repeated.
        await followEvents(ctx.client(), {
          signal: ac.signal,
          onEvent: (raw) => {
            const e = raw as unknown as DomainEvent;
            if (opts.domain && e.name !== opts.domain && e.uuid !== opts.domain) return;
            const what = eventLine(e, opts.all ?? false, seen, opts.event);
            if (what === undefined) return;
            ctx.print(`${opts.timestamp ? `${new Date(e.at).toISOString()}: ` : ''}${what}\n`);
            count++;
            if (!opts.loop) ac.abort();
          },
          onLost: (lost) => ctx.output.err(`warning: events may have been missed: ${LOST_WORDS[lost.reason]}\n`),
          onDropped: () => ctx.output.err('warning: the event stream was lost (ferryd stopped or restarted?); reconnecting\n'),
          onResumed: () => ctx.output.err('warning: the event stream is back\n'),
        });
      } catch (err) {
        throw connectionFailure(err);
      }
      ctx.print(`events received: ${count}\n\n`);
    });
}
