import type { Command } from 'commander';
import { type CliContext, CliFailure } from '../context.js';
import { groupByKeyword, type VerbGroup, VERB_GROUPS } from './verb-groups.js';

/** virsh's layout: `    %-30s %s`. */
function verbLine(cmd: Command): string {
  return `    ${cmd.name().padEnd(30)} ${cmd.summary() || (cmd.description().split('\n')[0] ?? '')}\n`;
}

/** One group as virsh prints it: ` Title (help keyword 'k'):` then its verbs. */
export function renderGroup(program: Command, group: VerbGroup): string {
  const byName = new Map(program.commands.map((c) => [c.name(), c]));
  const lines = group.verbs.flatMap((v) => {
    const cmd = byName.get(v);
    return cmd ? [verbLine(cmd)] : [];
  });
  return ` ${group.title} (help keyword '${group.keyword}'):\n${lines.join('')}\n`;
}

/** `ferry help` without a word: every group, as `virsh help` prints it. */
export function renderGroupedHelp(program: Command): string {
  return `Grouped commands:\n\n${VERB_GROUPS.map((g) => renderGroup(program, g)).join('')}`;
}

/** `ferry help [KEYWORD|VERB]`: the verbs by group, one group, or one verb's help (virsh's). */
export function registerHelp(program: Command, ctx: CliContext): void {
  program.helpCommand(false);
  program
    .command('help')
    .description('print help: every verb by group, one group (ferry help domain) or one verb (ferry help start)')
    .argument('[command]', 'a verb, or a group keyword (domain, monitor, host, network, secret, pool, volume, lock, audit, cert, ferry)')
    .action((word: string | undefined) => {
      if (!word) return ctx.print(renderGroupedHelp(program));
      const group = groupByKeyword(word);
      if (group) return ctx.print(renderGroup(program, group));
      const cmd = program.commands.find((c) => c.name() === word || c.aliases().includes(word));
      if (!cmd) {
        throw new CliFailure([`command or command group '${word}' doesn't exist`], 'Run "ferry help" for the verbs and the group keywords', 'INVALID_ARGUMENT');
      }
      ctx.print(cmd.helpInformation());
    });
}
