import type { Command } from 'commander';
import type { NodeInfo, VersionInfo } from '../../shared/api-types.js';
import { FERRY_VERSION } from '../../shared/version.js';
import { type CliContext, connectionFailure } from '../context.js';
import { formatFields } from '../format.js';

export function registerNode(program: Command, ctx: CliContext): void {
  program
    .command('nodeinfo')
    .description('node information: CPUs, memory, and the accelerator QEMU uses here')
    .action(async () => {
      let node: NodeInfo;
      let version: VersionInfo;
      try {
        [{ node }, { version }] = await Promise.all([
          ctx.client().get<{ node: NodeInfo }>('/v1/node'),
          ctx.client().get<{ version: VersionInfo }>('/v1/version'),
        ]);
      } catch (err) {
        throw connectionFailure(err);
      }
      ctx.print(
        formatFields(
          [
            ['CPU model', node.cpuModel],
            ['CPU(s)', String(node.cpus)],
            ['CPU frequency', `${node.mhz} MHz`],
            ['CPU socket(s)', String(node.sockets)],
            ['Core(s) per socket', String(node.coresPerSocket)],
            ['Thread(s) per core', String(node.threadsPerCore)],
            ['NUMA cell(s)', String(node.numaCells)],
            ['Memory size', `${node.memoryKiB} KiB`],
            ['Hypervisor', version.qemu ? `QEMU ${version.qemu}` : 'QEMU (not found)'],
            ['Accelerator', version.accel ? `${version.accel} (${version.accelReason})` : `none (${version.accelReason})`],
          ],
          21,
        ) + '\n',
      );
    });

  program
    .command('version')
    .description('show version: ferry, QEMU and the accelerator in use')
    .option('--daemon', "also report the daemon's version")
    .action(async (opts: { daemon?: boolean }) => {
      let v: VersionInfo;
      try {
        ({ version: v } = await ctx.client().get<{ version: VersionInfo }>('/v1/version'));
      } catch (err) {
        throw connectionFailure(err);
      }
      const lines = [
        `Compiled against library: ferry ${FERRY_VERSION}`,
        `Using library: ferry ${FERRY_VERSION}`,
        `Using API: QEMU ${FERRY_VERSION}`,
        `Running hypervisor: QEMU ${v.qemu ?? 'unavailable'}${v.qemuPackage ? ` (${v.qemuPackage})` : ''}`,
      ];
      if (opts.daemon) lines.push(`Running against daemon: ferry ${v.ferry}`);
      lines.push(`Accelerator: ${v.accel ?? 'none'} (${v.accelReason})`);
      ctx.print(`${lines.join('\n')}\n\n`);
    });

  program
    .command('uri')
    .description('print the connection URI in use')
    .action(() => ctx.print(`${ctx.uri}\n\n`));

  program
    .command('hostname')
    .description("print the daemon host's name")
    .action(async () => {
      try {
        const { version } = await ctx.client().get<{ version: VersionInfo }>('/v1/version');
        ctx.print(`${version.hostname}\n\n`);
      } catch (err) {
        throw connectionFailure(err);
      }
    });
}
