import type { Command } from 'commander';
import { FerryError } from '../../errors/ferry-error.js';
import type { SecretSummary } from '../../shared/api-types.js';
import { CliFailure, type CliContext, connectionFailure, enc } from '../context.js';
import { readInputFile } from '../input-file.js';
import { formatTable } from '../format.js';

/** Runs a secret operation and words its failure as virsh does ("Failed to set secret value" + the reason). */
async function secretOp<T>(failure: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof FerryError) {
      if (err.code === 'CONNECT_FAILED') throw connectionFailure(err);
      throw new CliFailure(failure ? [failure, err.message] : [err.message], err.hint, err.code);
    }
    throw err;
  }
}

/** secret-define, secret-set-value, secret-get-value, secret-list, secret-dumpxml, secret-undefine: virsh's words. */
export function registerSecret(program: Command, ctx: CliContext): void {
  program
    .command('secret-define')
    .description('define or modify a secret from an XML file (its value is set apart, with secret-set-value)')
    .argument('<file>', 'file containing secret attributes in XML')
    .addHelpText(
      'after',
      `
A disk's LUKS passphrase, looked up by the domain's <encryption><secret type='passphrase' uuid=.../>:
  <secret ephemeral='no' private='yes'><uuid>UUID</uuid><usage type='volume'><volume>/path/to/image</volume></usage></secret>
ceph/iscsi credentials: <usage type='ceph'><name>NAME</name></usage>, <usage type='iscsi'><target>NAME</target></usage>.
Values live in ferryd's state database (root only), never in logs or dumpxml (docs/secrets.md).
`,
    )
    .action(async (file: string) => {
      const xml = readInputFile(file).toString('utf8');
      const r = await secretOp(`Failed to set attributes from ${file}`, () => ctx.client().post<{ secret: SecretSummary }>('/v1/secrets', { xml }));
      ctx.say(`Secret ${r.secret.uuid} created\n`);
    });

  program
    .command('secret-set-value')
    .description('set a secret value')
    .argument('<secret>', 'secret UUID')
    .argument('[base64]', 'base64-encoded secret value')
    .option('--base64 <string>', 'base64-encoded secret value')
    .option('--file <filename>', 'read the value from a file (base64, or raw with --plain); - for stdin')
    .option('--plain', 'the --file value is raw, not base64-encoded')
    .option('--interactive', 'read the value from the terminal (stdin), as typed (raw)')
    .action(async (uuid: string, positional: string | undefined, opts: { base64?: string; file?: string; plain?: boolean; interactive?: boolean }) => {
      const given = [positional ?? opts.base64, opts.file, opts.interactive ? '' : undefined].filter((v) => v !== undefined);
      if (given.length !== 1)
        throw new CliFailure(
          ['exactly one of --base64, --file and --interactive is needed'],
          'ferry secret-set-value UUID --file F [--plain]',
          'INVALID_ARGUMENT',
        );
      let value: string;
      if (opts.file !== undefined) {
        const raw = readInputFile(opts.file);
        value = opts.plain ? raw.toString('base64') : raw.toString('utf8').trim();
      } else if (opts.interactive) {
        // As virsh: the passphrase as typed (one line), raw.
        const line = readInputFile('-')
          .toString('utf8')
          .replace(/\r?\n$/, '');
        value = Buffer.from(line, 'utf8').toString('base64');
      } else {
        value = (positional ?? opts.base64 ?? '').trim();
      }
      await secretOp('Failed to set secret value', () => ctx.client().put(`/v1/secrets/${enc(uuid)}/value`, { value }));
      ctx.say('Secret value set\n');
    });

  program
    .command('secret-get-value')
    .description('print a secret value, base64-encoded (refused for a private secret)')
    .argument('<secret>', 'secret UUID')
    .option('--plain', 'print the raw value')
    .action(async (uuid: string, opts: { plain?: boolean }) => {
      const r = await secretOp(undefined, () => ctx.client().post<{ value: string }>(`/v1/secrets/${enc(uuid)}/value`, {}));
      ctx.print(opts.plain ? Buffer.from(r.value, 'base64').toString('utf8') : `${r.value}\n`);
    });

  program
    .command('secret-list')
    .description('list secrets')
    .action(async () => {
      const r = await secretOp(undefined, () => ctx.client().get<{ secrets: SecretSummary[] }>('/v1/secrets'));
      ctx.print(
        formatTable(
          ['UUID', 'Usage'],
          r.secrets.map((s) => [s.uuid, s.usage]),
        ),
      );
    });

  program
    .command('secret-dumpxml')
    .description('secret attributes in XML (never the value)')
    .argument('<secret>', 'secret UUID')
    .action(async (uuid: string) => {
      const r = await secretOp(undefined, () => ctx.client().get<{ xml: string }>(`/v1/secrets/${enc(uuid)}/xml`));
      ctx.print(r.xml.endsWith('\n') ? r.xml : `${r.xml}\n`);
    });

  program
    .command('secret-undefine')
    .description('undefine a secret (and forget its value)')
    .argument('<secret>', 'secret UUID')
    .action(async (uuid: string) => {
      await secretOp('Failed to delete secret', () => ctx.client().delete(`/v1/secrets/${enc(uuid)}`));
      ctx.say(`Secret ${uuid} deleted\n`);
    });
}
