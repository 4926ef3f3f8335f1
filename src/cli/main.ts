import { Command, CommanderError } from 'commander';
import { FerryError, fromUnknown } from '../errors/ferry-error.js';
import { FERRY_VERSION } from '../shared/version.js';
import { registerAgent } from './commands/agent.js';
import { registerAudit } from './commands/audit.js';
import { registerBlockCopy } from './commands/blockcopy.js';
import { registerCert } from './commands/cert.js';
import { registerConsole } from './commands/console.js';
import { registerDefine } from './commands/define.js';
import { registerDiskEdit } from './commands/disk-edit.js';
import { registerDiskHotplug } from './commands/disk-hotplug.js';
import { registerDomif } from './commands/domif.js';
import { registerDisplay } from './commands/display.js';
import { registerEvent } from './commands/event.js';
import { registerInfo } from './commands/info.js';
import { registerVcpus } from './commands/vcpus.js';
import { registerTuning } from './commands/tuning.js';
import { registerMemory } from './commands/memory.js';
import { registerStats } from './commands/stats.js';
import { registerLifecycle } from './commands/lifecycle.js';
import { registerManagedSave } from './commands/managed-save.js';
import { registerJobControl } from './commands/job.js';
import { registerList } from './commands/list.js';
import { registerLock } from './commands/lock.js';
import { registerMigrate, registerMigrateCheck } from './commands/migrate.js';
import { registerMonitorCommand } from './commands/monitor-command.js';
import { registerNetLifecycle } from './commands/net-lifecycle.js';
import { registerNetQuery } from './commands/net-query.js';
import { registerNode } from './commands/node.js';
import { registerCpuModels } from './commands/cpu-models.js';
import { registerPool } from './commands/pool.js';
import { registerVol } from './commands/vol.js';
import { registerSecret } from './commands/secret.js';
import { registerComplete } from './complete/complete-command.js';
import { registerHelp } from './help/help-command.js';
import { CliContext, CliFailure } from './context.js';
import { formatError, type Output, processOutput } from './format.js';

/** Builds the `ferry` program: virsh's verbs, flags and output. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('ferry')
    .description('move KVM/QEMU virtual machines between hosts: a virsh-compatible CLI for ferryd')
    .version(FERRY_VERSION, '-v, --version', 'print ferry\'s version')
    .option('-c, --connect <uri>', 'hypervisor connection URI or an alias from ferry.conf (ferry:///system, qemu:///system, ...); default: $FERRY_DEFAULT_URI, else uri_default in ~/.config/ferry/ferry.conf or /etc/ferry/ferry.conf, else the system daemon when this user may use its socket (see man ferry)')
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
    .addHelpText('after', '\nEvery command takes --help; "ferry help" lists the verbs by group (virsh\'s), "ferry help KEYWORD" one group.\nDomains can be named by name, id or uuid. man ferry has the whole reference; bash completion:\npackaging/bash-completion/ferry.\nexit status: 0 on success, 1 on failure (as virsh).\n');
  program.hook('preAction', (thisCommand) => {
    const o = thisCommand.opts<{ connect?: string; readonly?: boolean; quiet?: boolean }>();
    if (o.connect) ctx.connectUri = o.connect;
    ctx.quiet = o.quiet ?? false;
    ctx.readonly = o.readonly ?? false;
  });
  registerDefine(program, ctx);
  registerLifecycle(program, ctx);
  registerManagedSave(program, ctx);
  registerList(program, ctx);
  registerInfo(program, ctx);
  registerVcpus(program, ctx);
  registerTuning(program, ctx);
  registerDomif(program, ctx);
  registerNode(program, ctx);
  registerCpuModels(program, ctx);
  registerDiskEdit(program, ctx);
  registerDiskHotplug(program, ctx);
  registerEvent(program, ctx);
  registerMonitorCommand(program, ctx);
  registerConsole(program, ctx);
  registerAgent(program, ctx);
  registerMigrate(program, ctx);
  registerMigrateCheck(program, ctx);
  registerJobControl(program, ctx);
  registerPool(program, ctx);
  registerVol(program, ctx);
  registerNetLifecycle(program, ctx);
  registerNetQuery(program, ctx);
  registerBlockCopy(program, ctx);
  registerLock(program, ctx);
  registerCert(program, ctx);
  registerDisplay(program, ctx);
  registerMemory(program, ctx);
  registerStats(program, ctx);
  registerSecret(program, ctx);
  registerHelp(program, ctx);
  registerComplete(program, ctx);
  registerAudit(program, ctx);
  for (const cmd of program.commands) cmd.exitOverride().configureOutput({ writeOut: (s) => ctx.output.out(s), writeErr: (s) => ctx.output.err(s) });
  return program;
}

/** Runs the CLI; returns the exit status (0 success, 1 failure, as virsh). */
export async function runCli(argv: string[], output: Output = processOutput, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const ctx = new CliContext(output, env);
  const program = buildProgram(ctx);
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
