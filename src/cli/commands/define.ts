import type { Command } from 'commander';
import { FerryError } from '../../errors/ferry-error.js';
import { CliFailure, type CliContext, domainArg, domainOp, enc } from '../context.js';
import { readXmlFile } from '../input-file.js';

async function failingAs<T>(failure: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof FerryError && err.code !== 'CONNECT_FAILED') throw new CliFailure([failure, err.message], err.hint, err.code);
    throw err;
  }
}

export function registerDefine(program: Command, ctx: CliContext): void {
  program
    .command('define')
    .description("define (but don't start) a domain from an XML file")
    .argument('<file>', 'file containing an XML domain description (- for stdin)')
    .option('--validate', 'validate the XML (ferry always does)')
    .action(async (file: string) => {
      const xml = readXmlFile(file);
      const r = await failingAs(`Failed to define domain from ${file}`, () => ctx.client().post<{ domain: { name: string } }>('/v1/domains', { xml }));
      ctx.say(`Domain '${r.domain.name}' defined from ${file}\n`);
    });

  program
    .command('create')
    .description('create (start) a transient domain from an XML file')
    .argument('<file>', 'file containing an XML domain description (- for stdin)')
    .option('--paused', 'leave the guest paused after it is created')
    .action(async (file: string, opts: { paused?: boolean }) => {
      const xml = readXmlFile(file);
      const r = await failingAs(`Failed to create domain from ${file}`, () =>
        ctx.client().post<{ domain: { name: string } }>('/v1/domains/create', { xml, paused: opts.paused ?? false }),
      );
      ctx.say(`Domain '${r.domain.name}' created from ${file}\n`);
    });

  program
    .command('undefine')
    .description('undefine a domain; a running one becomes transient and disappears when it stops')
    .argument('[domain]', 'domain name, id or uuid')
    .option('--domain <domain>', 'domain name, id or uuid')
    .option('--keep-tpm', "keep the emulated TPM's state (by default it is removed unless the definition says persistent_state='yes')")
    .option('--tpm', "remove the emulated TPM's state, even with persistent_state='yes'")
    .option('--nvram', "remove the domain's UEFI variable store (NVRAM) too (not one on network storage, <nvram type='network'>: shared, never removed)")
    .option('--keep-nvram', "keep the domain's UEFI variable store (NVRAM) file")
    .option('--managed-save', "remove the domain's managed save image too (without it, a domain with one is not undefined)")
    .action(
      async (
        positional: string | undefined,
        opts: { domain?: string; keepTpm?: boolean; tpm?: boolean; nvram?: boolean; keepNvram?: boolean; managedSave?: boolean },
      ) => {
        const ref = domainArg(positional, opts);
        if (opts.keepTpm && opts.tpm) throw new CliFailure(['Options --keep-tpm and --tpm are mutually exclusive'], undefined, 'INVALID_ARGUMENT');
        if (opts.nvram && opts.keepNvram) throw new CliFailure(['Options --nvram and --keep-nvram are mutually exclusive'], undefined, 'INVALID_ARGUMENT');
        const query = new URLSearchParams();
        if (opts.keepTpm || opts.tpm) query.set('tpm', opts.keepTpm ? 'keep' : 'remove');
        if (opts.nvram || opts.keepNvram) query.set('nvram', opts.nvram ? 'remove' : 'keep');
        if (opts.managedSave) query.set('managedSave', 'true');
        const qs = query.size > 0 ? `?${query.toString()}` : '';
        const r = await domainOp(ref, 'undefine', () => ctx.client().delete<{ nvramKept?: string }>(`/v1/domains/${enc(ref)}${qs}`));
        if (opts.nvram && r.nvramKept) ctx.say(`NVRAM ${r.nvramKept} is on network storage: not removed (ferry never deletes shared storage)\n`);
        ctx.say(`Domain '${ref}' has been undefined\n`);
      },
    );

  program
    .command('dumpxml')
    .description('domain information in XML')
    .argument('[domain]', 'domain name, id or uuid')
    .option('--domain <domain>', 'domain name, id or uuid')
    .option('--inactive', 'show the persistent definition instead of the running one')
    .option('--security-info', 'include security sensitive information (a graphics passwd); refused on a read-only connection')
    .action(async (positional: string | undefined, opts: { domain?: string; inactive?: boolean; securityInfo?: boolean }) => {
      const ref = domainArg(positional, opts);
      const query = [opts.inactive ? 'inactive=true' : '', opts.securityInfo ? 'secure=true' : ''].filter(Boolean).join('&');
      const r = await domainOp(ref, undefined, () => ctx.client().get<{ xml: string }>(`/v1/domains/${enc(ref)}/xml${query ? `?${query}` : ''}`));
      ctx.print(r.xml);
    });
}
