import type { Command } from 'commander';
import { FerryError } from '../../errors/ferry-error.js';
import { CONSOLE_DOMAIN_HEADER, CONSOLE_UPGRADE } from '../../shared/console-protocol.js';
import { type ConsoleOutcome, runConsole } from '../console-stream.js';
import { CliFailure, type CliContext, domainArg, domainFailure, enc } from '../context.js';

interface ConsoleOptions {
  domain?: string;
  devname?: string;
  force?: boolean;
  safe?: boolean;
  resume?: boolean;
}

/** virsh console: the guest's serial console (or another console device) in this terminal, until ^]. */
export function registerConsole(program: Command, ctx: CliContext): void {
  program
    .command('console')
    .description('connect to the guest console; ^] (Ctrl + ]) leaves it, the guest keeps running')
    .argument('[domain]', 'domain name, id or uuid')
    .option('--domain <domain>', 'domain name, id or uuid')
    .option('--devname <name>', 'the console device: serial0, serial1, ..., console0, ... (default: the first console, else the first serial port)')
    .option('--force', 'take the console over from a session that holds it (that session ends)')
    .option('--safe', 'only connect if the console is handled safely (one session at a time: always so in ferry)')
    .option('--resume', 'resume a paused guest once connected')
    .addHelpText(
      'after',
      [
        '',
        'The terminal is put in raw mode (every key goes to the guest, ^C included) and back when the',
        'session ends: ^], the domain shutting off or migrating to another host (its console is there then),',
        'or another client taking the console over with --force. One session per device at a time.',
        'Standard input that is not a terminal is passed through as it is; its end ends the session.',
      ].join('\n'),
    )
    .action(async (positional: string | undefined, opts: ConsoleOptions) => {
      const ref = domainArg(positional, opts);
      const query = new URLSearchParams();
      if (opts.devname) query.set('devname', opts.devname);
      if (opts.force) query.set('force', 'true');
      if (opts.safe) query.set('safe', 'true');
      let connection;
      try {
        connection = await ctx.client().upgrade(`/v1/domains/${enc(ref)}/console${query.size > 0 ? `?${query}` : ''}`, CONSOLE_UPGRADE);
      } catch (err) {
        throw consoleFailure(err, ref);
      }
      const named = connection.headers[CONSOLE_DOMAIN_HEADER];
      const name = typeof named === 'string' ? decodeURIComponent(named) : ref;
      ctx.say(`Connected to domain '${name}'`);
      ctx.say('Escape character is ^] (Ctrl + ])');
      if (opts.resume) {
        try {
          await ctx.client().post(`/v1/domains/${enc(ref)}/resume`);
        } catch (err) {
          connection.socket.destroy();
          throw domainFailure(err, ref, 'resume');
        }
      }
      const outcome = await runConsole({ socket: connection.socket, head: connection.head, terminal: ctx.terminal });
      report(ctx, outcome);
    });
}

/** The session's end, as the last line: nothing after ^], a note when the domain stopped or left, an error otherwise. */
function report(ctx: CliContext, outcome: ConsoleOutcome): void {
  if (outcome.kind === 'escape' || outcome.kind === 'input-ended') return;
  // The guest may have left the cursor in the middle of a line.
  if (ctx.terminal.output.isTTY) ctx.output.err('\n');
  switch (outcome.kind) {
    case 'signal':
      throw new CliFailure([`console session ended by ${outcome.signal}`]);
    case 'dropped':
      throw new CliFailure(
        [`Disconnected from ${ctx.uri} due to end of file${outcome.error ? ` (${outcome.error})` : ''}`],
        'ferryd closed the connection (restarted, or the ssh tunnel or network went away); connect again',
      );
    case 'ended': {
      const { reason, message } = outcome.end;
      if (reason === 'stopped' || reason === 'migrated' || reason === 'closed') {
        if (!ctx.quiet) ctx.output.err(`${message}\n`);
        return;
      }
      throw new CliFailure(
        [message],
        reason === 'forced' ? 'Another "ferry console --force" took this console; only one session per device runs at a time' : undefined,
      );
    }
  }
}

function consoleFailure(err: unknown, ref: string): CliFailure {
  // virsh checks the state first and says it its own way (cmdRunConsole).
  if (err instanceof FerryError && err.code === 'DOMAIN_NOT_RUNNING') return new CliFailure(['The domain is not running'], err.hint, err.code);
  return domainFailure(err, ref);
}
