import type { Command } from 'commander';
import type { DomainInfo } from '../../shared/api-types.js';
import { type CliContext, domainArg, domainOp, enc } from '../context.js';
import { formatTable } from '../format.js';
import {
  DOMAIN_FIELD_VERBS,
  type DomainStateReply,
  domainInfoPath,
  domainStatePath,
  renderDomainField,
  renderDominfo,
  renderDomstate,
} from './domain-info-format.js';

function withDomain(cmd: Command): Command {
  return cmd.argument('[domain]', 'domain name, id or uuid').option('--domain <domain>', 'domain name, id or uuid');
}

export function registerInfo(program: Command, ctx: CliContext): void {
  withDomain(program.command('dominfo').description('domain information')).action(async (positional: string | undefined, opts: { domain?: string }) => {
    const ref = domainArg(positional, opts);
    const { domain } = await domainOp(ref, undefined, () => ctx.client().get<{ domain: DomainInfo }>(domainInfoPath(ref)));
    ctx.print(renderDominfo(domain));
  });

  withDomain(program.command('domstate').description('domain state'))
    .option('--reason', 'also print the reason for the state')
    .action(async (positional: string | undefined, opts: { domain?: string; reason?: boolean }) => {
      const ref = domainArg(positional, opts);
      const s = await domainOp(ref, undefined, () => ctx.client().get<DomainStateReply>(domainStatePath(ref)));
      ctx.print(renderDomstate(s, opts.reason ?? false));
    });

  for (const [verb, field, description] of DOMAIN_FIELD_VERBS) {
    withDomain(program.command(verb).description(description)).action(async (positional: string | undefined, opts: { domain?: string }) => {
      const ref = domainArg(positional, opts);
      const { domain } = await domainOp(ref, undefined, () => ctx.client().get<{ domain: DomainInfo }>(domainInfoPath(ref)));
      ctx.print(renderDomainField(domain, field));
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
