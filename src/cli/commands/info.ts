import type { Command } from 'commander';
import type { DomainInfo } from '../../shared/api-types.js';
import { STATE_LABEL } from '../../shared/domain-state.js';
import { type CliContext, domainArg, domainOp, enc } from '../context.js';
import { formatFields, formatTable } from '../format.js';

function withDomain(cmd: Command): Command {
  return cmd.argument('[domain]', 'domain name, id or uuid').option('--domain <domain>', 'domain name, id or uuid');
}

export function registerInfo(program: Command, ctx: CliContext): void {
  withDomain(program.command('dominfo').description('domain information')).action(async (positional: string | undefined, opts: { domain?: string }) => {
    const ref = domainArg(positional, opts);
    const { domain: d } = await domainOp(ref, undefined, () => ctx.client().get<{ domain: DomainInfo }>(`/v1/domains/${enc(ref)}`));
    const fields: Array<[string, string]> = [
      ['Id', d.id === null ? '-' : String(d.id)],
      ['Name', d.name],
      ['UUID', d.uuid],
      ['OS Type', d.osType],
      ['State', STATE_LABEL[d.state]],
      ['CPU(s)', String(d.vcpus)],
    ];
    if (d.cpuTimeSeconds !== null) fields.push(['CPU time', `${d.cpuTimeSeconds.toFixed(1)}s`]);
    fields.push(
      ['Max memory', `${d.maxMemoryKiB} KiB`],
      ['Used memory', `${d.usedMemoryKiB} KiB`],
      ['Persistent', d.persistent ? 'yes' : 'no'],
      ['Autostart', d.autostart ? 'enable' : 'disable'],
      ['Managed save', d.managedSave ? 'yes' : 'no'],
      ['Security model', 'dac'],
      ['Security DOI', '0'],
    );
    if (d.securityLabel) fields.push(['Security label', `${d.securityLabel} (enforcing)`]);
    if (d.taints.length > 0) fields.push(['Tainted', d.taints.join(', ')]);
    ctx.print(`${formatFields(fields, 16)}\n`);
  });

  withDomain(program.command('domstate').description('domain state'))
    .option('--reason', 'also print the reason for the state')
    .action(async (positional: string | undefined, opts: { domain?: string; reason?: boolean }) => {
      const ref = domainArg(positional, opts);
      const s = await domainOp(ref, undefined, () => ctx.client().get<{ state: keyof typeof STATE_LABEL; reason: string }>(`/v1/domains/${enc(ref)}/state`));
      ctx.print(`${STATE_LABEL[s.state]}${opts.reason ? ` (${s.reason})` : ''}\n\n`);
    });

  for (const [verb, field, description] of [
    ['domid', 'id', 'convert a domain name or UUID to domain id'],
    ['domname', 'name', 'convert a domain id or UUID to domain name'],
    ['domuuid', 'uuid', 'convert a domain name or id to domain UUID'],
  ] as const) {
    withDomain(program.command(verb).description(description)).action(async (positional: string | undefined, opts: { domain?: string }) => {
      const ref = domainArg(positional, opts);
      const { domain: d } = await domainOp(ref, undefined, () => ctx.client().get<{ domain: DomainInfo }>(`/v1/domains/${enc(ref)}`));
      const v = d[field];
      ctx.print(`${v === null ? '-' : String(v)}\n\n`);
    });
  }

  withDomain(program.command('domblklist').description('list all domain blocks'))
    .option('--inactive', 'get inactive rather than running configuration')
    .option('--details', 'additionally display the type and device value')
    .action(async (positional: string | undefined, opts: { domain?: string; inactive?: boolean; details?: boolean }) => {
      const ref = domainArg(positional, opts);
      const r = await domainOp(ref, undefined, () =>
        ctx
          .client()
          .get<{ disks: Array<{ target: string; source: string; type: string; device: string }> }>(
            `/v1/domains/${enc(ref)}/disks${opts.inactive ? '?inactive=true' : ''}`,
          ),
      );
      const table = opts.details
        ? formatTable(
            ['Type', 'Device', 'Target', 'Source'],
            r.disks.map((d) => [d.type, d.device, d.target, d.source]),
          )
        : formatTable(
            ['Target', 'Source'],
            r.disks.map((d) => [d.target, d.source]),
          );
      ctx.print(`${table}\n`);
    });

  withDomain(program.command('domiflist').description('list all domain virtual interfaces'))
    .option('--inactive', 'get inactive rather than running configuration')
    .action(async (positional: string | undefined, opts: { domain?: string; inactive?: boolean }) => {
      const ref = domainArg(positional, opts);
      const r = await domainOp(ref, undefined, () =>
        ctx
          .client()
          .get<{ interfaces: Array<{ interface: string; type: string; source: string; model: string; mac: string }> }>(
            `/v1/domains/${enc(ref)}/interfaces${opts.inactive ? '?inactive=true' : ''}`,
          ),
      );
      ctx.print(
        `${formatTable(
          ['Interface', 'Type', 'Source', 'Model', 'MAC'],
          r.interfaces.map((i) => [i.interface, i.type, i.source, i.model, i.mac]),
        )}\n`,
      );
    });
}
