import type { Command } from 'commander';
import { type CliContext, CliFailure, domainArg, domainOp, enc } from '../context.js';
import { numeric } from '../numeric.js';
import { affect, affectQuery, type AffectOpts, withAffectOptions } from '../affect-options.js';

/** libvirt's blkio weight is an unsigned int (the cgroup layout's range is checked by ferryd). */
const blkioWeight = numeric({ name: 'weight', min: 0, max: 4294967295 });

const collect = (v: string, acc: string[]): string[] => [...acc, v];

function withAffect(cmd: Command): Command {
  return withAffectOptions(cmd.argument('[domain]', 'domain name, id or uuid').option('--domain <domain>', 'domain name, id or uuid'), 'its cgroup');
}

const query = affectQuery;

/** virsh's "%-15s: %s" parameter lines. */
function fields(rows: Array<[string, string]>): string {
  return `${rows.map(([k, v]) => `${k.padEnd(15)}: ${v}\n`).join('')}\n`;
}

/** "name=value" of schedinfo --set (an integer value). */
function schedParam(text: string): [string, number] {
  const m = /^([a-z_]+)=(-?\d+)$/.exec(text.trim());
  if (!m) throw new CliFailure([`invalid scheduler parameter '${text}' (expected name=value, such as cpu_shares=2048)`]);
  return [m[1] as string, Number(m[2])];
}

const DEVICE_OPTIONS = [
  ['device-weights', 'device_weight', 'per-device weights: /dev/sda,400[,/dev/sdb,900]'],
  ['device-read-iops-sec', 'device_read_iops_sec', 'per-device read I/O limit: PATH,IOPS[,...]'],
  ['device-write-iops-sec', 'device_write_iops_sec', 'per-device write I/O limit: PATH,IOPS[,...]'],
  ['device-read-bytes-sec', 'device_read_bytes_sec', 'per-device read throughput limit: PATH,BYTES[,...]'],
  ['device-write-bytes-sec', 'device_write_bytes_sec', 'per-device write throughput limit: PATH,BYTES[,...]'],
] as const;

const camel = (s: string): string => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function registerTuning(program: Command, ctx: CliContext): void {
  withAffect(program.command('schedinfo').description("show or set a domain's CPU scheduler parameters (<cputune> shares, period, quota: its cgroup)"))
    .argument('[set...]', 'parameters to set, name=value (as --set)')
    .option(
      '--set <name=value>',
      'set a parameter: cpu_shares, vcpu_period, vcpu_quota, emulator_period, emulator_quota, global_period, global_quota, iothread_period, iothread_quota (repeatable)',
      collect,
      [],
    )
    .action(async (positional: string | undefined, rest: string[], o: AffectOpts & { set: string[] }) => {
      const ref = domainArg(positional, o);
      const flags = affect(o);
      const sets = [...rest, ...o.set];
      if (sets.length > 0) {
        const parameters = Object.fromEntries(sets.map(schedParam));
        const r = await domainOp(ref, undefined, () =>
          ctx.client().put<{ parameters: Array<[string, string]> }>(`/v1/domains/${enc(ref)}/schedinfo`, { parameters, ...flags }),
        );
        ctx.print(fields(r.parameters));
        return;
      }
      const r = await domainOp(ref, undefined, () =>
        ctx.client().get<{ parameters: Array<[string, string]> }>(`/v1/domains/${enc(ref)}/schedinfo${query(flags)}`),
      );
      ctx.print(fields(r.parameters));
    });

  let cmd = withAffect(program.command('blkiotune').description("show or set a domain's block I/O parameters (<blkiotune>: its cgroup)")).option(
    '--weight <number>',
    'I/O weight (100..1000 on cgroup v1, 1..10000 on v2; 0 removes it)',
    blkioWeight,
  );
  for (const [flag, , help] of DEVICE_OPTIONS) cmd = cmd.option(`--${flag} <list>`, help);
  cmd.action(async (positional: string | undefined, o: AffectOpts & { weight?: number } & Record<string, string | undefined>) => {
    const ref = domainArg(positional, o);
    const flags = affect(o);
    const devices = Object.fromEntries(
      DEVICE_OPTIONS.filter(([flag]) => o[camel(flag)] !== undefined).map(([flag, field]) => [field, o[camel(flag)] as string]),
    );
    const weight = o.weight;
    if (weight !== undefined || Object.keys(devices).length > 0) {
      const r = await domainOp(ref, undefined, () =>
        ctx.client().put<{ parameters: Array<[string, string]> }>(`/v1/domains/${enc(ref)}/blkiotune`, {
          ...(weight === undefined ? {} : { weight }),
          devices,
          ...flags,
        }),
      );
      ctx.print(fields(r.parameters));
      return;
    }
    const r = await domainOp(ref, undefined, () =>
      ctx.client().get<{ parameters: Array<[string, string]> }>(`/v1/domains/${enc(ref)}/blkiotune${query(flags)}`),
    );
    ctx.print(fields(r.parameters));
  });

  withAffect(
    program
      .command('memtune')
      .description("show a domain's memory limits (<memtune>: its memory cgroup), in KiB or 'unlimited'; change them in the definition (ferry define)"),
  ).action(async (positional: string | undefined, o: AffectOpts) => {
    const ref = domainArg(positional, o);
    const flags = affect(o);
    const r = await domainOp(ref, undefined, () => ctx.client().get<{ parameters: Array<[string, string]> }>(`/v1/domains/${enc(ref)}/memtune${query(flags)}`));
    ctx.print(fields(r.parameters));
  });
}
