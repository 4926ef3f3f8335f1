import type { Command } from 'commander';
import { baselineCpu, renderBaseline } from '../../cpu/cpu-baseline.js';
import { compareCpu, incompatibility } from '../../cpu/cpu-compare.js';
import { type CpuDescription, cpuDescriptions } from '../../cpu/cpu-descriptions.js';
import { FerryError } from '../../errors/ferry-error.js';
import type { CpuCatalog } from '../../shared/cpu-catalog.js';
import { type CliContext, CliFailure, connectionFailure } from '../context.js';
import { readXmlFile } from '../input-file.js';

/** The hypervisor's CPU models and host CPU, from ferryd (its QEMU, under its accelerator). */
async function catalogOf(ctx: CliContext): Promise<CpuCatalog> {
  try {
    return (await ctx.client().get<{ catalog: CpuCatalog }>('/v1/node/cpu-models')).catalog;
  } catch (err) {
    if (err instanceof FerryError && err.code !== 'CONNECT_FAILED') throw err;
    throw connectionFailure(err);
  }
}

export function registerCpuModels(program: Command, ctx: CliContext): void {
  program
    .command('hypervisor-cpu-compare')
    .description('compare a CPU with the CPU created by a hypervisor on the host')
    .argument('<file>', 'file containing an XML CPU description (a <cpu>, a domain XML, capabilities or domcapabilities)')
    .option('--error', 'report error if CPUs are incompatible')
    .addHelpText(
      'after',
      `
Compares the first <cpu> in FILE with what the host's QEMU gives a guest under its
accelerator ('max' under TCG, 'host' under KVM): its named model's features (a static
query-cpu-model-expansion) and the model's unavailable features (query-cpu-definitions),
with the <feature> policies applied. Exit status 1 when incompatible; the hint names
the missing features. docs/cpu-models.md.`,
    )
    .action(async (file: string, opts: { error?: boolean }) => {
      const cpu = cpuDescriptions(readXmlFile(file), file)[0] as CpuDescription;
      const catalog = await catalogOf(ctx);
      const c = compareCpu(catalog, cpu);
      if (c.result !== 'incompatible') {
        ctx.print(
          c.result === 'identical'
            ? `CPU described in ${file} is identical to the CPU provided by hypervisor on the host\n\n`
            : `The CPU provided by hypervisor on the host is a superset of CPU described in ${file}\n\n`,
        );
        return;
      }
      const reason = incompatibility(c);
      if (opts.error)
        throw new CliFailure(
          [`Failed to compare hypervisor CPU with ${file}`, `the CPU is incompatible with host CPU: ${reason}`],
          undefined,
          'CPU_INCOMPATIBLE',
        );
      ctx.print(`CPU described in ${file} is incompatible with the CPU provided by hypervisor on the host\n\n`);
      throw new CliFailure([], `${reason} (under ${catalog.accel.toUpperCase()})`, 'CPU_INCOMPATIBLE');
    });

  for (const name of ['hypervisor-cpu-baseline', 'cpu-baseline']) {
    program
      .command(name)
      .description(name === 'cpu-baseline' ? 'compute baseline CPU (as hypervisor-cpu-baseline)' : 'compute baseline CPU usable by a specific hypervisor')
      .argument('[file]', 'file containing XML CPU descriptions (one <cpu> per host: capabilities, domcapabilities or named models)')
      .option('--model <model>', 'shortcut for calling the command with a single CPU model and no additional features')
      .addHelpText(
        'after',
        `
Prints the <cpu mode='custom' match='exact'> every described CPU can run: the named
model of the host's QEMU closest to the features all of them share, with
<feature policy='require'> for shared features the model lacks and policy='disable'
for model features some CPU lacks. A cluster-safe model for a set of hosts: put each
host's CPU in FILE. docs/cpu-models.md.`,
      )
      .action(async (file: string | undefined, opts: { model?: string }) => {
        if ((file === undefined) === (opts.model === undefined)) {
          throw new CliFailure(
            ['Options --file and --model are mutually exclusive; exactly one of them is needed'],
            `ferry ${name} FILE | --model MODEL`,
            'INVALID_ARGUMENT',
          );
        }
        const cpus = file !== undefined ? cpuDescriptions(readXmlFile(file), file) : [{ mode: 'custom' as const, model: opts.model as string, features: [] }];
        const catalog = await catalogOf(ctx);
        ctx.print(renderBaseline(baselineCpu(catalog, cpus)));
      });
  }
}
