import type { Command } from 'commander';
import { CliFailure, type CliContext, domainArg, domainOp, enc } from '../context.js';

/** virsh managedsave and managedsave-remove; `start` restores the image. */
export function registerManagedSave(program: Command, ctx: CliContext): void {
  program
    .command('managedsave')
    .description("save a running or paused domain's state to a file ferryd keeps, and stop it; the next start resumes it where it was")
    .argument('[domain]', 'domain name, id or uuid')
    .option('--domain <domain>', 'domain name, id or uuid')
    .option('--running', 'the domain runs when it is restored (default: as it is now)')
    .option('--paused', 'the domain stays paused when it is restored')
    .option('--verbose', 'print a completion line when the state is saved')
    .action(async (positional: string | undefined, opts: { domain?: string; running?: boolean; paused?: boolean; verbose?: boolean }) => {
      const ref = domainArg(positional, opts);
      if (opts.running && opts.paused) throw new CliFailure(['Options --running and --paused are mutually exclusive'], undefined, 'INVALID_ARGUMENT');
      await domainOp(ref, 'save', () =>
        ctx.client().post(`/v1/domains/${enc(ref)}/managedsave`, { running: opts.running ?? false, paused: opts.paused ?? false }),
      );
      if (opts.verbose) ctx.say('Managedsave: [100 %]\n');
      ctx.say(`\nDomain '${ref}' state saved by ferry\n`);
    });

  program
    .command('managedsave-remove')
    .description("remove a domain's managed save image (its next start boots afresh)")
    .argument('[domain]', 'domain name, id or uuid')
    .option('--domain <domain>', 'domain name, id or uuid')
    .action(async (positional: string | undefined, opts: { domain?: string }) => {
      const ref = domainArg(positional, opts);
      const r = await domainOp(ref, 'remove managed save image of', () => ctx.client().delete<{ removed: boolean }>(`/v1/domains/${enc(ref)}/managedsave`));
      ctx.say(r.removed ? `Removed managedsave image for domain '${ref}'\n` : `Domain '${ref}' has no manage save image; removal skipped\n`);
    });
}
