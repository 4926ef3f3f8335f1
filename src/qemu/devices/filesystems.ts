import type { DomainDefinition, FilesystemDefinition } from '../../vm/definition.js';
import { securityModel } from '../../vm/devices/filesystem.js';
import { virtioOptionProps } from '../../vm/devices/virtio-options.js';
import { device, escapeOpt, pciProps, usbProps } from './device-props.js';

/** The fsdev id of a filesystem, as libvirt names it: fsdev-fs0. */
export const fsdevId = (f: FilesystemDefinition): string => `fsdev-${f.alias ?? ''}`;

/** Each <filesystem>: a local fsdev on its host directory and the virtio-9p-pci device the guest mounts by tag. */
export function filesystemArgs(def: DomainDefinition, q35: boolean): string[] {
  return (def.devices.filesystems ?? []).flatMap((f) => {
    // usb-mtp: readonly is always given (QEMU's default is on; libvirt writes false for a writable one).
    if (f.driver === 'mtp')
      return device('usb-mtp', [
        `id=${f.alias}`,
        `rootdir=${escapeOpt(f.source)}`,
        `desc=${escapeOpt(f.target)}`,
        `readonly=${f.readonly ? 'on' : 'off'}`,
        ...usbProps(f.address),
      ]);
    const fsdev = [
      'local',
      `security_model=${securityModel(f)}`,
      f.multidevs && f.multidevs !== 'default' ? `multidevs=${f.multidevs}` : undefined,
      f.wrpolicy ? `writeout=${f.wrpolicy}` : undefined,
      f.fmode === undefined ? undefined : `fmode=0${f.fmode.toString(8).padStart(3, '0')}`,
      f.dmode === undefined ? undefined : `dmode=0${f.dmode.toString(8).padStart(3, '0')}`,
      `id=${fsdevId(f)}`,
      `path=${escapeOpt(f.source)}`,
      f.readonly ? 'readonly=on' : undefined,
    ].filter((p): p is string => p !== undefined);
    const driver =
      f.model === 'virtio-transitional' || f.model === 'virtio-non-transitional' ? `virtio-9p-pci-${f.model.slice('virtio-'.length)}` : 'virtio-9p-pci';
    return [
      '-fsdev',
      fsdev.join(','),
      ...device(driver, [
        ...virtioOptionProps(f.virtio),
        `id=${f.alias}`,
        `fsdev=${fsdevId(f)}`,
        `mount_tag=${escapeOpt(f.target)}`,
        ...pciProps(f.address, q35),
      ]),
    ];
  });
}
