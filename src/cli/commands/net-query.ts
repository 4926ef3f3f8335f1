import type { Command } from 'commander';
import type { NetworkSummary } from '../../shared/api-types.js';
import { type CliContext, enc } from '../context.js';
import { formatFields, formatTable } from '../format.js';
import { netOp, networkArg, withNetwork } from './net-op.js';

const yesNo = (b: boolean): string => (b ? 'yes' : 'no');

/** net-list, net-info, net-dumpxml, net-uuid, net-name: virsh's formats. */
export function registerNetQuery(program: Command, ctx: CliContext): void {
  program
    .command('net-list')
    .description('list networks (active ones unless --all or --inactive)')
    .option('--all', 'list inactive and active networks')
    .option('--inactive', 'list inactive networks')
    .option('--name', 'list network names only')
    .option('--uuid', 'list network uuids only')
    .action(async (opts: { all?: boolean; inactive?: boolean; name?: boolean; uuid?: boolean }) => {
      const q = new URLSearchParams();
      if (opts.all) q.set('all', 'true');
      if (opts.inactive) q.set('inactive', 'true');
      const { networks } = await netOp('', undefined, () => ctx.client().get<{ networks: NetworkSummary[] }>(`/v1/networks?${q}`));
      if (opts.name || opts.uuid) {
        ctx.print(`${networks.map((n) => `${opts.uuid ? n.uuid : n.name}\n`).join('')}\n`);
        return;
      }
      const rows = networks.map((n) => [n.name, n.active ? 'active' : 'inactive', yesNo(n.autostart), yesNo(n.persistent)]);
      ctx.print(`${formatTable(['Name', 'State', 'Autostart', 'Persistent'], rows)}\n`);
    });

  withNetwork(program.command('net-info').description('network information')).action(async (positional: string | undefined, opts: { network?: string }) => {
    const net = networkArg(positional, opts);
    const { network: n } = await netOp(net, undefined, () => ctx.client().get<{ network: NetworkSummary }>(`/v1/networks/${enc(net)}`));
    const fields: Array<[string, string]> = [
      ['Name', n.name],
      ['UUID', n.uuid],
      ['Active', yesNo(n.active)],
      ['Persistent', yesNo(n.persistent)],
      ['Autostart', yesNo(n.autostart)],
      ['Bridge', n.bridge],
    ];
    ctx.print(`${formatFields(fields, 16)}\n`);
  });

  withNetwork(program.command('net-dumpxml').description('network information in XML')).action(
    async (positional: string | undefined, opts: { network?: string }) => {
      const net = networkArg(positional, opts);
      const r = await netOp(net, undefined, () => ctx.client().get<{ xml: string }>(`/v1/networks/${enc(net)}/xml`));
      ctx.print(r.xml);
    },
  );

  for (const [verb, field, description] of [
    ['net-uuid', 'uuid', 'convert a network name to network UUID'],
    ['net-name', 'name', 'convert a network UUID to network name'],
  ] as const) {
    withNetwork(program.command(verb).description(description)).action(async (positional: string | undefined, opts: { network?: string }) => {
      const net = networkArg(positional, opts);
      const { network: n } = await netOp(net, undefined, () => ctx.client().get<{ network: NetworkSummary }>(`/v1/networks/${enc(net)}`));
      ctx.print(`${n[field]}\n\n`);
    });
  }
}
