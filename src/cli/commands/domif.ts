import type { Command } from 'commander';
import type { InterfaceStats } from '../../shared/api-types.js';
import { CliFailure, type CliContext, domainArg, domainOp, enc } from '../context.js';

const STAT_KEYS: Array<keyof InterfaceStats> = ['rx_bytes', 'rx_packets', 'rx_errs', 'rx_drop', 'tx_bytes', 'tx_packets', 'tx_errs', 'tx_drop'];

/** virsh's domif-getlink, domif-setlink and domifstat (domiflist is with the other lists in info.ts). */
export function registerDomif(program: Command, ctx: CliContext): void {
  program
    .command('domif-getlink')
    .description('get link state of a virtual interface')
    .argument('<domain>', 'domain name, id or uuid')
    .argument('<interface>', 'interface device (tap name) or MAC address')
    .option('--config', 'get persistent interface state')
    .action(async (positional: string, iface: string, opts: { config?: boolean }) => {
      const ref = domainArg(positional, {});
      const r = await domainOp(ref, undefined, () =>
        ctx.client().get<{ interface: string; state: string }>(`/v1/domains/${enc(ref)}/interfaces/${enc(iface)}/link${opts.config ? '?config=true' : ''}`),
      );
      ctx.print(`${r.interface} ${r.state}\n`);
    });

  program
    .command('domif-setlink')
    .description('set link state of a virtual interface')
    .argument('<domain>', 'domain name, id or uuid')
    .argument('<interface>', 'interface device (tap name) or MAC address')
    .argument('<state>', 'new state of the device: up or down')
    .option('--config', 'affect next boot (the persistent definition)')
    .action(async (positional: string, iface: string, state: string, opts: { config?: boolean }) => {
      if (state !== 'up' && state !== 'down') {
        throw new CliFailure([`Invalid link state '${state}'`], 'The state is "up" or "down"', 'INVALID_ARGUMENT');
      }
      const ref = domainArg(positional, {});
      await domainOp(ref, undefined, () =>
        ctx.client().put(`/v1/domains/${enc(ref)}/interfaces/${enc(iface)}/link`, { state, ...(opts.config ? { config: true } : {}) }),
      );
      ctx.print('Device updated successfully\n\n');
    });

  program
    .command('domifstat')
    .description('get network interface stats for a running domain')
    .argument('<domain>', 'domain name, id or uuid')
    .argument('<interface>', 'interface device (tap name) or MAC address')
    .action(async (positional: string, iface: string) => {
      const ref = domainArg(positional, {});
      const { stats } = await domainOp(ref, undefined, () =>
        ctx.client().get<{ stats: InterfaceStats }>(`/v1/domains/${enc(ref)}/interfaces/${enc(iface)}/stats`),
      );
      ctx.print(`${STAT_KEYS.map((k) => `${iface} ${k} ${stats[k]}`).join('\n')}\n\n`);
    });
}
