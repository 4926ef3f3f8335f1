import { Command, CommanderError } from 'commander';
import { FerryError, fromUnknown } from '../errors/ferry-error.js';
import { FERRY_VERSION } from '../shared/version.js';
import { CliContext, CliFailure } from './context.js';
import { formatError, type Output, processOutput } from './format.js';
import { VERB_MODULES, verbsNeeded } from './verb-modules.js';

/** Builds the `ferry` program: virsh's verbs, flags and output; with `verbs`, only the modules that register them. */
export async function buildProgram(ctx: CliContext, verbs: readonly string[] | 'all' = 'all'): Promise<Command> {
  const program = new Command('ferry')
    .description('move KVM/QEMU virtual machines between hosts: a virsh-compatible CLI for ferryd')
    .version(FERRY_VERSION, '-v, --version', "print ferry's version")
    .option(
      '-c, --connect <uri>',
      'hypervisor connection URI or an alias from ferry.conf (ferry:///system, qemu:///system, ...); default: $FERRY_DEFAULT_URI, else uri_default in ~/.config/ferry/ferry.conf or /etc/ferry/ferry.conf, else the system daemon when this user may use its socket (see man ferry)',
    )
    .option('-r, --readonly', 'connect read-only')
    .option('-q, --quiet', 'quiet mode: no informational messages')
    .showHelpAfterError(false)
    .configureOutput({
      writeOut: (s) => ctx.output.out(s),
      writeErr: (s) => ctx.output.err(s),
      // virsh's wording: "error: unknown command: 'x'"
      outputError: (s, write) => write(s.replace(/^error: unknown command '/, "error: unknown command: '")),
    })
    .exitOverride()
    .addHelpText(
      'after',
      '\nEvery command takes --help; "ferry help" lists the verbs by group (virsh\'s), "ferry help KEYWORD" one group.\nDomains can be named by name, id or uuid. man ferry has the whole reference; bash completion:\npackaging/bash-completion/ferry.\nexit status: 0 on success, 1 on failure (as virsh).\n',
    );
  program.hook('preAction', (thisCommand) => {
    const o = thisCommand.opts<{ connect?: string; readonly?: boolean; quiet?: boolean }>();
    if (o.connect) ctx.connectUri = o.connect;
    ctx.quiet = o.quiet ?? false;
    ctx.readonly = o.readonly ?? false;
  });
  const wanted = verbs === 'all' ? VERB_MODULES : VERB_MODULES.filter((m) => m.verbs.some((v) => verbs.includes(v)));
  for (const register of await Promise.all(wanted.map((m) => m.load()))) register(program, ctx);
  for (const cmd of program.commands) cmd.exitOverride().configureOutput({ writeOut: (s) => ctx.output.out(s), writeErr: (s) => ctx.output.err(s) });
  return program;
}

/** Runs the CLI; returns the exit status (0 success, 1 failure, as virsh). */
export async function runCli(argv: string[], output: Output = processOutput, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const ctx = new CliContext(output, env);
  const program = await buildProgram(ctx, verbsNeeded(argv.slice(2)));
  if (argv.length <= 2) {
    program.outputHelp();
    return 0;
  }
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 1; // commander already printed "error: ..."
    }
    if (err instanceof CliFailure) {
      output.err(formatError(err.messages, err.hint, err.code));
    } else if (err instanceof FerryError) {
      output.err(formatError([err.message], err.hint, err.code));
    } else {
      const e = fromUnknown(err);
      output.err(formatError([e.message], e.hint, e.code));
    }
    return 1;
  } finally {
    ctx.close();
  }
}
