import type { Command } from 'commander';
import { DISK_CACHE_MODES, DISK_IO_MODES } from '../../shared/disk-modes.js';
import type { DiskEdit } from '../../shared/api-types.js';
import { CliFailure, type CliContext, domainOp, enc } from '../context.js';

interface DiskEditOptions {
  cache?: string;
  io?: string;
  readonly?: boolean;
  shareable?: boolean;
  source?: string;
}

/** ferry's `virt-xml DOMAIN --edit --disk target=vda,cache=none`. */
export function registerDiskEdit(program: Command, ctx: CliContext): void {
  program
    .command('disk-edit')
    .description("change a disk of a domain's persistent definition (virt-xml --edit --disk target=...)")
    .argument('<domain>', 'domain name, id or uuid')
    .argument('<target>', 'the disk\'s target device, e.g. vda (see "ferry domblklist")')
    .option('--cache <mode>', `cache mode: ${DISK_CACHE_MODES.join(', ')}`)
    .option('--io <mode>', `I/O mode: ${DISK_IO_MODES.join(', ')}`)
    .option('--readonly', 'make the disk read-only')
    .option('--no-readonly', 'make the disk writable')
    .option('--shareable', 'mark the disk shareable between domains')
    .option('--no-shareable', 'mark the disk not shareable')
    .option('--source <path>', 'point the disk at another file or block device')
    .addHelpText(
      'after',
      '\nExample (the seed\'s "virt-xml MasteringKVM01 --edit --disk target=vda,cache=none"):\n  ferry disk-edit MasteringKVM01 vda --cache none\n\nA running domain keeps its current disk settings until it is powered off and started again.\n',
    )
    .action(async (ref: string, target: string, opts: DiskEditOptions, cmd: Command) => {
      const edit: DiskEdit = {};
      if (opts.cache !== undefined) {
        if (!(DISK_CACHE_MODES as readonly string[]).includes(opts.cache)) {
          throw new CliFailure([`unknown cache mode '${opts.cache}'`], `Use one of ${DISK_CACHE_MODES.join(', ')}`, 'INVALID_ARGUMENT');
        }
        edit.cache = opts.cache as DiskEdit['cache'];
      }
      if (opts.io !== undefined) {
        if (!(DISK_IO_MODES as readonly string[]).includes(opts.io)) {
          throw new CliFailure([`unknown io mode '${opts.io}'`], `Use one of ${DISK_IO_MODES.join(', ')}`, 'INVALID_ARGUMENT');
        }
        edit.io = opts.io as DiskEdit['io'];
      }
      const src = (name: string): string | undefined => cmd.getOptionValueSource(name);
      if (src('readonly') === 'cli') edit.readonly = opts.readonly ?? false;
      if (src('shareable') === 'cli') edit.shareable = opts.shareable ?? false;
      if (opts.source !== undefined) edit.source = opts.source;
      if (Object.keys(edit).length === 0) {
        throw new CliFailure(['nothing to change'], 'Give at least one of --cache, --io, --readonly, --shareable, --source', 'INVALID_ARGUMENT');
      }
      const r = await domainOp(ref, 'edit', () =>
        ctx.client().patch<{ domain: { name: string }; active: boolean }>(`/v1/domains/${enc(ref)}/disks/${enc(target)}`, edit),
      );
      ctx.say(`Domain '${r.domain.name}' defined successfully.`);
      if (r.active) ctx.say('Changes will take effect after the domain is fully powered off.');
    });
}
