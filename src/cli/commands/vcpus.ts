import type { Command } from 'commander';
import type { VcpuCount, VcpuInfo } from '../../shared/api-types.js';
import { type CliContext, CliFailure, domainArg, domainOp, enc } from '../context.js';
import { formatFields, formatTable } from '../format.js';
import { numeric } from '../numeric.js';
import { affect, affectQuery, type AffectOpts, withAffectOptions } from '../affect-options.js';

/** libvirt's vCPU limits: at most 16384 vCPUs, ids from 0. */
const vcpuCount = numeric({ name: 'count', min: 1, max: 16384 });
const vcpuId = numeric({ name: 'vcpu', min: 0, max: 16383 });

function withDomain(cmd: Command): Command {
  return cmd.argument('[domain]', 'domain name, id or uuid').option('--domain <domain>', 'domain name, id or uuid');
}

const withAffect = withAffectOptions;

const query = affectQuery;

/** The host CPUs a cpuset allows, as virsh's y/- string over the host's CPUs. */
function affinityMap(cpuset: string, hostCpus: number): string {
  const allowed = new Set<number>();
  for (const part of cpuset.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a as number; i <= (b ?? (a as number)); i++) allowed.add(i);
  }
  return Array.from({ length: hostCpus }, (_, i) => (allowed.has(i) ? 'y' : '-')).join('');
}

export function registerVcpus(program: Command, ctx: CliContext): void {
  withAffect(
    withDomain(program.command('setvcpus').description('change number of virtual CPUs')).argument('[count]', 'number of virtual CPUs', vcpuCount),
    'hot-plug or unplug vCPUs',
  )
    .option('--count <count>', 'number of virtual CPUs', vcpuCount)
    .option('--maximum', 'set the maximum number of vCPUs (with --config)')
    .option('--guest', 'change the vCPUs the guest uses, through its agent')
    .option('--hotpluggable', 'accepted for virsh compatibility: vCPUs ferry adds are always hot-pluggable')
    .action(async (positional: string | undefined, countArg: number | undefined, o: AffectOpts & { count?: number; maximum?: boolean; guest?: boolean }) => {
      const ref = domainArg(positional, o);
      const n = countArg ?? o.count;
      if (n === undefined) throw new CliFailure(["command 'setvcpus' requires <count> option"]);
      const body = { count: n, ...affect(o), ...(o.maximum ? { maximum: true } : {}), ...(o.guest ? { guest: true } : {}) };
      await domainOp(ref, undefined, () => ctx.client().put(`/v1/domains/${enc(ref)}/vcpus/count`, body));
      ctx.print('\n');
    });

  withDomain(program.command('vcpucount').description('domain vcpu counts'))
    .option('--maximum', 'get maximum count of vcpus')
    .option('--active', 'get number of currently active vcpus')
    .option('--live', 'get value from running domain')
    .option('--config', 'get value to be used on next boot')
    .option('--current', 'get value according to current domain state')
    .option('--guest', "count vcpus from guest's point of view")
    .action(async (positional: string | undefined, o: AffectOpts & { maximum?: boolean; active?: boolean; guest?: boolean }) => {
      const ref = domainArg(positional, o);
      if (o.guest)
        throw new CliFailure(
          ['this function is not supported by the connection driver: vcpucount --guest'],
          'ferry does not talk to the guest agent for vCPUs yet',
        );
      const { count: c } = await domainOp(ref, undefined, () => ctx.client().get<{ count: VcpuCount }>(`/v1/domains/${enc(ref)}/vcpus/count`));
      const running = c.currentLive !== null;
      const sides: Array<'config' | 'live'> = o.live
        ? ['live']
        : o.config
          ? ['config']
          : o.current
            ? [running ? 'live' : 'config']
            : running
              ? ['config', 'live']
              : ['config'];
      if (o.live && !running) throw new CliFailure(['Requested operation is not valid: domain is not running']);
      const kinds: Array<'maximum' | 'current'> = o.maximum ? ['maximum'] : o.active ? ['current'] : ['maximum', 'current'];
      const single = (o.maximum || o.active) && (o.live || o.config || o.current);
      let text = '';
      for (const kind of kinds) {
        for (const side of sides) {
          const v = c[`${kind}${side === 'config' ? 'Config' : 'Live'}`];
          if (v === null) continue;
          text += single ? `${v}\n` : `${kind.padEnd(12)} ${side.padEnd(12)} ${String(v).padStart(3)}\n`;
        }
      }
      ctx.print(`${text}\n`);
    });

  withDomain(program.command('vcpuinfo').description('detailed domain vcpu information'))
    .option('--pretty', 'return human readable output (the CPU Affinity as a list)')
    .action(async (positional: string | undefined, o: { domain?: string; pretty?: boolean }) => {
      const ref = domainArg(positional, o);
      const [{ vcpus }, node] = await domainOp(ref, undefined, () =>
        Promise.all([ctx.client().get<{ vcpus: VcpuInfo[] }>(`/v1/domains/${enc(ref)}/vcpus`), ctx.client().get<{ node: { cpus: number } }>('/v1/node')]),
      );
      const blocks = vcpus.map((v) =>
        formatFields(
          [
            ['VCPU', String(v.vcpu)],
            ['CPU', v.cpu === null ? 'N/A' : String(v.cpu)],
            ['State', v.state ?? 'N/A'],
            ['CPU time', v.cpuSeconds === null ? 'N/A' : `${v.cpuSeconds.toFixed(1)}s`],
            ['CPU Affinity', o.pretty ? `${v.affinity} (out of ${node.node.cpus})` : affinityMap(v.affinity, node.node.cpus)],
          ],
          16,
        ),
      );
      ctx.print(`${blocks.map((b) => `${b}\n`).join('')}`);
    });

  withAffect(withDomain(program.command('vcpupin').description('control or query domain vcpu affinity')), 'pin')
    .argument('[vcpu]', 'vCPU number', vcpuId)
    .argument('[cpulist]', 'host CPU list (0-3,^2)')
    .option('--vcpu <vcpu>', 'vCPU number', vcpuId)
    .option('--cpulist <cpulist>', 'host CPU list (0-3,^2)')
    .action(
      async (positional: string | undefined, vcpuArg: number | undefined, listArg: string | undefined, o: AffectOpts & { vcpu?: number; cpulist?: string }) => {
        const ref = domainArg(positional, o);
        const vcpu = vcpuArg ?? o.vcpu;
        const cpulist = listArg ?? o.cpulist;
        const flags = affect(o);
        if (cpulist === undefined) {
          const { pins } = await domainOp(ref, undefined, () =>
            ctx.client().get<{ pins: Array<{ vcpu: number; cpuset: string }> }>(`/v1/domains/${enc(ref)}/vcpus/pins${query(flags)}`),
          );
          const shown = vcpu === undefined ? pins : pins.filter((p) => p.vcpu === vcpu);
          ctx.print(
            `${formatTable(
              ['VCPU', 'CPU Affinity'],
              shown.map((p) => [String(p.vcpu), p.cpuset]),
            )}\n`,
          );
          return;
        }
        if (vcpu === undefined) throw new CliFailure(['vcpupin: Missing vCPU number in pin mode.']);
        await domainOp(ref, undefined, () => ctx.client().put(`/v1/domains/${enc(ref)}/vcpus/pins/${vcpu}`, { cpuset: cpulist, ...flags }));
        ctx.print('\n');
      },
    );

  withAffect(
    withDomain(program.command('numatune').description('query NUMA parameters: the memory mode and host nodes (placement=auto: the nodes advised at start)')),
    'query',
  ).action(async (positional: string | undefined, o: AffectOpts) => {
    const ref = domainArg(positional, o);
    const flags = affect(o);
    const { numatune } = await domainOp(ref, undefined, () =>
      ctx.client().get<{ numatune: { mode: string; nodeset: string } }>(`/v1/domains/${enc(ref)}/numatune${query(flags)}`),
    );
    ctx.print(`${'numa_mode'.padEnd(15)}: ${numatune.mode}\n${'numa_nodeset'.padEnd(15)}: ${numatune.nodeset}\n\n`);
  });

  withAffect(withDomain(program.command('emulatorpin').description('control or query domain emulator affinity')), 'pin')
    .argument('[cpulist]', 'host CPU list (0-3,^2)')
    .option('--cpulist <cpulist>', 'host CPU list (0-3,^2)')
    .action(async (positional: string | undefined, listArg: string | undefined, o: AffectOpts & { cpulist?: string }) => {
      const ref = domainArg(positional, o);
      const cpulist = listArg ?? o.cpulist;
      const flags = affect(o);
      if (cpulist === undefined) {
        const { cpuset } = await domainOp(ref, undefined, () => ctx.client().get<{ cpuset: string }>(`/v1/domains/${enc(ref)}/emulatorpin${query(flags)}`));
        ctx.print(` emulator: CPU Affinity\n----------------------------------\n       *: ${cpuset}\n\n`);
        return;
      }
      await domainOp(ref, undefined, () => ctx.client().put(`/v1/domains/${enc(ref)}/emulatorpin`, { cpuset: cpulist, ...flags }));
      ctx.print('\n');
    });
}
