import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { enc } from '../context.js';
import { type ObjectKind, whatToComplete } from './complete-line.js';

/** The names of the daemon's objects of one kind. */
async function objectNames(ctx: CliContext, object: ObjectKind, pool: string | undefined): Promise<string[]> {
  const client = ctx.client();
  switch (object) {
    case 'domain':
      return (await client.get<{ domains: { name: string }[] }>('/v1/domains?all=true')).domains.map((d) => d.name);
    case 'pool':
      return (await client.get<{ pools: { name: string }[] }>('/v1/pools?all=true')).pools.map((p) => p.name);
    case 'network':
      return (await client.get<{ networks: { name: string }[] }>('/v1/networks?all=true')).networks.map((n) => n.name);
    case 'vol':
      if (!pool) return [];
      return (await client.get<{ volumes: { name: string }[] }>(`/v1/pools/${enc(pool)}/volumes`)).volumes.map((v) => v.name);
  }
}

/**
 * The hidden `ferry complete -- WORDS...` verb the bash completion calls, as
 * virsh's script calls `virsh complete`: prints the candidates for the last
 * word, one a line. It never fails: a daemon it cannot reach offers nothing.
 */
export function registerComplete(program: Command, ctx: CliContext): void {
  program
    .command('complete', { hidden: true })
    .description('print completions for a partial command line (used by the bash completion)')
    .argument('[words...]', 'the words after "ferry", the last being the one to complete')
    .allowUnknownOption()
    .action(async (words: string[]) => {
      const request = whatToComplete(program, words.length > 0 ? words : ['']);
      if (request.connect) ctx.connectUri = request.connect;
      const { completion } = request;
      let candidates: string[] = [];
      if (completion.kind === 'words') {
        candidates = completion.words;
      } else {
        try {
          candidates = (await objectNames(ctx, completion.object, completion.pool)).filter((n) => n.startsWith(completion.prefix));
        } catch {
          candidates = [];
        }
      }
      ctx.print(candidates.map((c) => `${c}\n`).join(''));
    });
}
