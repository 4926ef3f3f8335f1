import type { Command } from 'commander';
import { CliFailure, type CliContext, domainOp, enc } from '../context.js';

/** virsh qemu-monitor-command: pass one QMP command through ferryd's monitor connection. */
export function registerMonitorCommand(program: Command, ctx: CliContext): void {
  program
    .command('qemu-monitor-command')
    .description("QEMU monitor command: send a QMP command to the domain's QEMU (unsupported territory, as in virsh)")
    .argument('<domain>', 'domain name, id or uuid')
    .argument('<command...>', 'the QMP command as JSON, e.g. \'{"execute":"query-status"}\', or a command name with --pretty')
    .option('--pretty', 'pretty-print the reply')
    .action(async (ref: string, words: string[], opts: { pretty?: boolean }) => {
      const text = words.join(' ');
      let command: { execute: string; arguments?: Record<string, unknown> };
      try {
        command = text.trim().startsWith('{') ? JSON.parse(text) : { execute: text.trim() };
      } catch (err) {
        throw new CliFailure([`command is not valid JSON: ${(err as Error).message}`], 'Quote the JSON for the shell', 'INVALID_ARGUMENT');
      }
      const r = await domainOp(ref, undefined, () => ctx.client().post<{ return: unknown }>(`/v1/domains/${enc(ref)}/qemu-monitor-command`, command));
      const reply = { return: r.return, id: 'ferry' };
      ctx.print(`${opts.pretty ? JSON.stringify(reply, null, 2) : JSON.stringify(reply)}\n`);
    });
}
