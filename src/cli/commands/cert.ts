import os from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ClusterCa, type IssuedFiles } from '../../transport/cluster-ca.js';
import type { CliContext } from '../context.js';
import { numeric } from '../numeric.js';

/** Where the CA lives unless --ca-dir says: /etc/pki/ferry-ca for root, ~/.pki/ferry-ca otherwise. */
function defaultCaDir(): string {
  return process.getuid?.() === 0 ? '/etc/pki/ferry-ca' : join(os.homedir(), '.pki', 'ferry-ca');
}

const days = numeric({ name: 'days', min: 1, max: 36500 });

const collect = (v: string, acc: string[]): string[] => [...acc, v];

function report(ctx: CliContext, what: string, issued: IssuedFiles, next: string): void {
  ctx.say(`${what}: ${issued.subject}, valid until ${issued.notAfter}`);
  for (const f of issued.files) ctx.say(`  ${f}`);
  if (next) ctx.say(next);
}

/**
 * The cluster's certificates, without a daemon: a CA, host certificates for
 * ferryd's TLS listener and peer calls (and QEMU's --tls migrations), and
 * client certificates for operators. docs/security.md walks through them.
 */
export function registerCert(program: Command, ctx: CliContext): void {
  program
    .command('cert-ca-create')
    .description("create the cluster's certificate authority (ca-cert.pem and ca-key.pem, the key readable by root only)")
    .option('--ca-dir <dir>', 'where the CA goes (default /etc/pki/ferry-ca, or ~/.pki/ferry-ca when not root)')
    .option('--name <cn>', "the CA's common name", 'ferry cluster CA')
    .option('--days <n>', 'validity in days', days, 3650)
    .action(async (o: { caDir?: string; name: string; days: number }) => {
      const ca = new ClusterCa(o.caDir ?? defaultCaDir());
      report(ctx, 'CA created', await ca.create({ name: o.name, days: o.days }), 'Keep ca-key.pem safe; every host and client gets ca-cert.pem.');
    });

  program
    .command('cert-host-create')
    .argument('<hostname>', "the host's name, as other hosts and clients resolve it")
    .description("issue a host certificate (OU=ferry-host): ferryd's TLS listener, its peer calls, and --tls migrations")
    .option('--ip <address>', 'an address the certificate is also valid for (repeatable)', collect, [])
    .option('--dns <name>', 'another DNS name it is valid for (repeatable)', collect, [])
    .option('--ca-dir <dir>', 'the CA (default /etc/pki/ferry-ca)')
    .option('--out <dir>', "where the files go (default CA-DIR/hosts/HOSTNAME); install them as the host's tls_dir, /etc/pki/ferry")
    .option('--days <n>', 'validity in days', days, 825)
    .addHelpText('after', '\nWrites ca-cert.pem, server-cert.pem, server-key.pem, client-cert.pem and client-key.pem: the names ferryd and QEMU read.\n')
    .action(async (hostname: string, o: { ip: string[]; dns: string[]; caDir?: string; out?: string; days: number }) => {
      const caDir = o.caDir ?? defaultCaDir();
      const out = o.out ?? join(caDir, 'hosts', hostname);
      const issued = await new ClusterCa(caDir).issueHost({ hostname, addresses: o.ip, dnsNames: o.dns, out, days: o.days });
      report(
        ctx,
        'Host certificate issued',
        issued,
        `Copy ${out}/* to ${hostname}:/etc/pki/ferry/ (ferryd's tls_dir), then start ferryd with listen = "ADDRESS:16520".`,
      );
    });

  program
    .command('cert-client-create')
    .argument('<name>', 'who the certificate is for (its common name)')
    .description('issue a client certificate for ferry -c ferry+tls://... (OU=ferry-admin, or OU=ferry-readonly with --readonly)')
    .option('--readonly', 'the holder may only query (list, dominfo, domjobinfo...), never start, stop or migrate')
    .option('--ca-dir <dir>', 'the CA (default /etc/pki/ferry-ca)')
    .option('--out <dir>', 'where the files go (default CA-DIR/clients/NAME); use it as ?pkipath= or ~/.pki/ferry')
    .option('--days <n>', 'validity in days', days, 365)
    .action(async (name: string, o: { readonly?: boolean; caDir?: string; out?: string; days: number }) => {
      const caDir = o.caDir ?? defaultCaDir();
      const out = o.out ?? join(caDir, 'clients', name);
      // ferry's global -r/--readonly takes the flag when it follows the verb too: either way it means the same here.
      const issued = await new ClusterCa(caDir).issueClient({ name, readonly: (o.readonly ?? false) || ctx.readonly, out, days: o.days });
      report(ctx, 'Client certificate issued', issued, `Use it with: ferry -c 'ferry+tls://HOST/system?pkipath=${out}' ..., or copy it to ~/.pki/ferry/.`);
    });
}
