import type { Command } from 'commander';
import type { NetworkSummary } from '../../shared/api-types.js';
import { type CliContext, enc } from '../context.js';
import { readXmlFile } from '../input-file.js';
import { netOp, networkArg, withNetwork } from './net-op.js';

/** net-define, net-create, net-undefine, net-start, net-destroy, net-autostart: virsh's words. */
export function registerNetLifecycle(program: Command, ctx: CliContext): void {
  program
    .command('net-define')
    .description('define an inactive persistent virtual network from an XML file')
    .argument('<file>', 'file containing an XML network description')
    .addHelpText(
      'after',
      `
A network names a bridge this host already has (each host may call its bridge differently):
  <network><name>vmnet</name><forward mode='bridge'/><bridge name='br1'/></network>
or is isolated: ferry creates the bridge at net-start (default virbrN) and deletes it at net-destroy:
  <network><name>lab</name><bridge name='labbr0'/><ip address='10.10.0.1' prefix='24'/></network>
Domains use it with <interface type='network'><source network='vmnet'/></interface>.
`,
    )
    .action(async (file: string) => {
      const xml = readXmlFile(file);
      const r = await netOp('', `Failed to define network from ${file}`, () => ctx.client().post<{ network: NetworkSummary }>('/v1/networks', { xml }));
      ctx.say(`Network ${r.network.name} defined from ${file}\n`);
    });

  program
    .command('net-create')
    .description('create (define and start) a transient network from an XML file; it goes away when destroyed')
    .argument('<file>', 'file containing an XML network description')
    .action(async (file: string) => {
      const xml = readXmlFile(file);
      const r = await netOp('', `Failed to create network from ${file}`, () => ctx.client().post<{ network: NetworkSummary }>('/v1/networks/create', { xml }));
      ctx.say(`Network ${r.network.name} created from ${file}\n`);
    });

  const simple: Array<[string, 'start' | 'destroy', string, string]> = [
    ['net-start', 'start', 'start a (previously defined) inactive network (an isolated one gets its bridge)', 'started'],
    ['net-destroy', 'destroy', 'stop a network (the bridge of an isolated one is deleted; a transient one goes away)', 'destroyed'],
  ];
  for (const [verb, action, description, done] of simple) {
    withNetwork(program.command(verb).description(description)).action(async (positional: string | undefined, opts: { network?: string }) => {
      const net = networkArg(positional, opts);
      await netOp(net, `Failed to ${action} network ${net}`, () => ctx.client().post(`/v1/networks/${enc(net)}/${action}`, {}));
      ctx.say(`Network ${net} ${done}\n`);
    });
  }

  withNetwork(program.command('net-undefine').description('undefine a persistent network (an active one keeps running as a transient network)')).action(
    async (positional: string | undefined, opts: { network?: string }) => {
      const net = networkArg(positional, opts);
      await netOp(net, `Failed to undefine network ${net}`, () => ctx.client().delete(`/v1/networks/${enc(net)}`));
      ctx.say(`Network ${net} has been undefined\n`);
    },
  );

  withNetwork(program.command('net-autostart').description('start a network whenever ferryd starts'))
    .option('--disable', 'disable autostarting')
    .action(async (positional: string | undefined, opts: { network?: string; disable?: boolean }) => {
      const net = networkArg(positional, opts);
      const failure = opts.disable ? `failed to unmark network ${net} as autostarted` : `failed to mark network ${net} as autostarted`;
      await netOp(net, failure, () => ctx.client().post(`/v1/networks/${enc(net)}/autostart`, { enable: !opts.disable }));
      ctx.say(opts.disable ? `Network ${net} unmarked as autostarted\n` : `Network ${net} marked as autostarted\n`);
    });
}
