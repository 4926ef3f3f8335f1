import type { Command } from 'commander';
import { DISK_BUSES, DISK_CACHE_MODES } from '../../shared/disk-modes.js';
import { CliFailure, type CliContext, domainFailure, enc } from '../context.js';

interface ScopeOptions {
  live?: boolean;
  config?: boolean;
  current?: boolean;
  persistent?: boolean;
}

/** virsh's rule: --current cannot go with --live or --config. */
function scope(opts: ScopeOptions): ScopeOptions {
  if (opts.current && (opts.live || opts.config)) {
    throw new CliFailure(['Options --current and --live are mutually exclusive'], undefined, 'INVALID_ARGUMENT');
  }
  if (opts.persistent && opts.current) throw new CliFailure(['Options --persistent and --current are mutually exclusive'], undefined, 'INVALID_ARGUMENT');
  const out: ScopeOptions = {};
  for (const k of ['live', 'config', 'current', 'persistent'] as const) if (opts[k]) out[k] = true;
  return out;
}

/** Runs a request; a failure reads as virsh's "Failed to ... " then the reason. */
async function attempt<T>(ref: string, failed: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const f = domainFailure(err, ref);
    throw new CliFailure([failed, ...f.messages], f.hint, f.code);
  }
}

const scopeOptions = (cmd: Command): Command =>
  cmd
    .option('--live', 'affect the running domain')
    .option('--config', 'affect the persistent definition (next boot)')
    .option('--current', 'affect the running domain if it runs, else the persistent definition (the default)');

/** virsh attach-disk, detach-disk and change-media. */
export function registerDiskHotplug(program: Command, ctx: CliContext): void {
  scopeOptions(
    program
      .command('attach-disk')
      .description('attach a disk device (hot-plugged into a running domain: virtio, scsi or usb)')
      .argument('<domain>', 'domain name, id or uuid')
      .argument('<source>', 'the image file or block device')
      .argument('<target>', 'the target device in the guest: vdb, sdc, ...')
      .option('--driver <name>', 'disk driver (qemu)')
      .option('--subdriver <format>', 'image format: raw (default) or qcow2')
      .option('--cache <mode>', `cache mode: ${DISK_CACHE_MODES.join(', ')}`)
      .option('--type <type>', 'disk (default), cdrom or floppy')
      .option('--mode <mode>', 'readonly or shareable')
      .option('--sourcetype <type>', 'file or block (from the source when absent)')
      .option('--targetbus <bus>', `${DISK_BUSES.join(', ')} (from the target's name when absent: vd → virtio, sd → scsi, hd → ide, fd → fdc)`)
      .option('--serial <serial>', "the disk's serial number")
      .option('--persistent', 'affect the running domain and its persistent definition'),
  )
    .addHelpText(
      'after',
      `
Examples:
  ferry attach-disk vm1 /var/lib/ferry/images/data.qcow2 vdb --subdriver qcow2 --persistent
  ferry attach-disk vm1 /srv/iso/tools.iso sdc --type cdrom --targetbus scsi --live

A hot-plugged virtio disk needs a free pcie-root-port on q35 (virt-install leaves spare ones); SATA, IDE and
floppy drives cannot be hot-plugged (use --config and restart). A writable disk takes its lease first.
`,
    )
    .action(async (ref: string, source: string, target: string, o: ScopeOptions & Record<string, string | undefined>) => {
      if (o.sourcetype !== undefined && o.sourcetype !== 'file' && o.sourcetype !== 'block') {
        throw new CliFailure([`Unknown source type: '${o.sourcetype}'`], 'Use --sourcetype file or block', 'INVALID_ARGUMENT');
      }
      const body: Record<string, unknown> = { source, target, ...scope(o) };
      const map: Record<string, string> = {
        driver: 'driver',
        subdriver: 'format',
        cache: 'cache',
        type: 'device',
        mode: 'mode',
        sourcetype: 'sourceType',
        targetbus: 'bus',
        serial: 'serial',
      };
      for (const [opt, key] of Object.entries(map)) if (typeof o[opt] === 'string') body[key] = o[opt];
      await attempt(ref, 'Failed to attach disk', () => ctx.client().post(`/v1/domains/${enc(ref)}/disks`, body));
      ctx.say('Disk attached successfully');
    });

  scopeOptions(
    program
      .command('detach-disk')
      .description('detach a disk device (hot-unplugged from a running domain)')
      .argument('<domain>', 'domain name, id or uuid')
      .argument('<target>', 'the disk\'s target device, e.g. vdb (see "ferry domblklist")')
      .option('--persistent', 'affect the running domain and its persistent definition'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  ferry detach-disk vm1 vdb --live --config\n\nA virtio disk leaves once the guest releases it (PCI hot-unplug); its lease is given back then.\n',
    )
    .action(async (ref: string, target: string, o: ScopeOptions) => {
      const q = Object.entries(scope(o))
        .map(([k]) => `${k}=true`)
        .join('&');
      await attempt(ref, 'Failed to detach disk', () => ctx.client().delete(`/v1/domains/${enc(ref)}/disks/${enc(target)}${q ? `?${q}` : ''}`));
      ctx.say('Disk detached successfully');
    });

  scopeOptions(
    program
      .command('change-media')
      .description('change the medium of a cdrom or floppy drive (eject, insert or update)')
      .argument('<domain>', 'domain name, id or uuid')
      .argument('<path>', "the drive's target (hdc, sdb, fda) or its current source path")
      .argument('[source]', 'the new medium (an ISO or image file) for --insert or --update')
      .option('--eject', 'eject the medium')
      .option('--insert', 'insert a medium into an empty drive')
      .option('--update', 'replace the medium (eject the old one if there is one; without a source: eject)')
      .option('--force', 'change the medium even if the guest has locked the tray'),
  )
    .addHelpText('after', '\nExamples:\n  ferry change-media vm1 sdb /srv/iso/debian.iso --insert\n  ferry change-media vm1 sdb --eject --config\n')
    .action(
      async (
        ref: string,
        path: string,
        source: string | undefined,
        o: ScopeOptions & { eject?: boolean; insert?: boolean; update?: boolean; force?: boolean },
      ) => {
        const actions = (['eject', 'insert', 'update'] as const).filter((a) => o[a]);
        if (actions.length > 1) throw new CliFailure([`Options --${actions[0]} and --${actions[1]} are mutually exclusive`], undefined, 'INVALID_ARGUMENT');
        // virsh: --update is the default; --update without a source ejects.
        let action = actions[0] ?? 'update';
        if (action === 'update' && source === undefined) action = 'eject';
        if (action === 'eject' && source !== undefined) throw new CliFailure(['Cannot use source with --eject'], undefined, 'INVALID_ARGUMENT');
        if (action === 'insert' && source === undefined)
          throw new CliFailure(['No disk source specified for change-media insert'], undefined, 'INVALID_ARGUMENT');
        const body = { action, ...(source === undefined ? {} : { source }), ...(o.force ? { force: true } : {}), ...scope(o) };
        await attempt(ref, `Failed to complete action ${action} on media`, () => ctx.client().post(`/v1/domains/${enc(ref)}/disks/${enc(path)}/media`, body));
        ctx.say(action === 'eject' ? 'Successfully ejected media.' : action === 'insert' ? 'Successfully inserted media.' : 'Successfully updated media.');
      },
    );
}
