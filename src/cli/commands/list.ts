import type { Command } from 'commander';
import { type CliContext, connectionFailure } from '../context.js';
import { LIST_FLAGS, type ListedDomain, type ListOptions, listPath, renderList } from './list-domains.js';

export function registerList(program: Command, ctx: CliContext): void {
  const cmd = program.command('list').description('list domains (running ones unless --all or --inactive)');
  for (const [flag, description] of LIST_FLAGS) cmd.option(flag, description);
  cmd.action(async (opts: ListOptions) => {
    let r: { domains: ListedDomain[] };
    try {
      r = await ctx.client().get<{ domains: ListedDomain[] }>(listPath(opts));
    } catch (err) {
      throw connectionFailure(err);
    }
    ctx.print(renderList(r.domains, opts, ctx.quiet));
  });
}
