import type { Command } from 'commander';
import { CliFailure, type CliContext, domainArg, domainOp, enc } from '../context.js';
import { LIMITS, numeric } from '../numeric.js';

interface Simple {
  verb: string;
  action: string;
  description: string;
  /** virsh's success message. */
  done: (name: string) => string;
  /** virsh's "Failed to <verb> domain" verb. */
  failVerb: string;
}

/** The one-shot lifecycle verbs: each is a POST to /domains/:ref/:action with virsh's wording. */
const SIMPLE: Simple[] = [
  {
    verb: 'destroy',
    action: 'destroy',
    description: 'destroy (stop) a domain: QEMU is told to quit, then terminated, then killed',
    done: (n) => `Domain '${n}' destroyed`,
    failVerb: 'destroy',
  },
  {
    verb: 'reboot',
    action: 'reboot',
    description: 'reboot a domain (ACPI power button, then a reset when the guest powers off)',
    done: (n) => `Domain '${n}' is being rebooted`,
    failVerb: 'reboot',
  },
  { verb: 'reset', action: 'reset', description: 'reset a domain (like pressing the reset button)', done: (n) => `Domain '${n}' was reset`, failVerb: 'reset' },
  { verb: 'suspend', action: 'suspend', description: 'suspend a domain (pause its vCPUs)', done: (n) => `Domain '${n}' suspended`, failVerb: 'suspend' },
  { verb: 'resume', action: 'resume', description: 'resume a previously suspended domain', done: (n) => `Domain '${n}' resumed`, failVerb: 'resume' },
  { verb: 'inject-nmi', action: 'inject-nmi', description: 'inject an NMI into the guest', done: () => '', failVerb: 'inject NMI into' },
];

export function registerLifecycle(program: Command, ctx: CliContext): void {
  for (const s of SIMPLE) {
    program
      .command(s.verb)
      .description(s.description)
      .argument('[domain]', 'domain name, id or uuid')
      .option('--domain <domain>', 'domain name, id or uuid')
      .action(async (positional: string | undefined, opts: { domain?: string }) => {
        const ref = domainArg(positional, opts);
        await domainOp(ref, s.failVerb, () => ctx.client().post(`/v1/domains/${enc(ref)}/${s.action}`));
        const line = s.done(ref);
        if (line) ctx.say(`${line}\n`);
      });
  }

  program
    .command('start')
    .description('start a (previously defined) inactive domain')
    .argument('[domain]', 'domain name, id or uuid')
    .option('--domain <domain>', 'domain name, id or uuid')
    .option('--paused', 'leave the guest paused after it is created (or restored from its managed save image)')
    .option('--force-boot', 'discard a managed save image and boot afresh')
    .action(async (positional: string | undefined, opts: { domain?: string; paused?: boolean; forceBoot?: boolean }) => {
      const ref = domainArg(positional, opts);
      await domainOp(ref, 'start', () =>
        ctx.client().post(`/v1/domains/${enc(ref)}/start`, { paused: opts.paused ?? false, forceBoot: opts.forceBoot ?? false }),
      );
      ctx.say(`Domain '${ref}' started\n`);
    });

  program
    .command('shutdown')
    .description('gracefully shut down a domain (ACPI power button)')
    .argument('[domain]', 'domain name, id or uuid')
    .option('--domain <domain>', 'domain name, id or uuid')
    .option('--mode <mode>', 'shutdown mode: acpi (the power button) or agent (the guest agent powers the guest down)', 'acpi')
    .option(
      '--timeout <seconds>',
      'wait for the domain to shut off, and destroy it if it does not within this many seconds',
      numeric({ name: 'timeout', min: 1, max: LIMITS.seconds }),
    )
    .action(async (positional: string | undefined, opts: { domain?: string; mode: string; timeout?: number }) => {
      const ref = domainArg(positional, opts);
      if (!['acpi', 'agent', 'initctl', 'signal', 'paravirt'].includes(opts.mode)) {
        throw new CliFailure(
          [`Unknown mode ${opts.mode} value, expecting 'acpi', 'agent', 'initctl', 'signal' or 'paravirt'`],
          'ferry shuts down with --mode acpi (the default) or --mode agent',
          'INVALID_ARGUMENT',
        );
      }
      if (opts.mode !== 'acpi' && opts.mode !== 'agent') {
        throw new CliFailure(
          [`shutdown mode '${opts.mode}' is not supported by ferry`],
          'ferry shuts down with the ACPI power button (--mode acpi, the default) or the guest agent (--mode agent)',
          'NOT_SUPPORTED',
        );
      }
      await domainOp(ref, 'shutdown', () => ctx.client().post(`/v1/domains/${enc(ref)}/shutdown`, { mode: opts.mode }));
      ctx.say(`Domain '${ref}' is being shutdown\n`);
      if (opts.timeout === undefined) return;
      const seconds = opts.timeout;
      const deadline = Date.now() + seconds * 1000;
      while (Date.now() < deadline) {
        const st = await domainOp(ref, 'shutdown', () => ctx.client().get<{ state: string }>(`/v1/domains/${enc(ref)}/state`));
        if (st.state === 'shutoff') {
          ctx.say(`Domain '${ref}' shut off`);
          return;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      ctx.say(`Domain '${ref}' did not shut down within ${seconds} seconds: destroying it`);
      await domainOp(ref, 'destroy', () => ctx.client().post(`/v1/domains/${enc(ref)}/destroy`));
      ctx.say(`Domain '${ref}' destroyed\n`);
    });
}
