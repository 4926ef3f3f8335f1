import { SMARTCARD_RULE } from '../devices/smartcard.js';
import { CRYPTO_RULE } from '../devices/crypto.js';
import { IOMMU_RULE } from '../devices/iommu.js';
import { HUB_RULE } from '../devices/hub.js';
import { PSTORE_RULE } from '../devices/pstore.js';
import { VSOCK_RULE } from '../devices/vsock.js';
import { LEASE_RULE } from '../devices/lease.js';
import { PARALLEL_RULE } from '../devices/parallel.js';
import { CHANNEL_RULE } from '../devices/channel.js';
import { THROTTLEGROUPS_RULE } from '../devices/disk-iotune.js';
import { CONTROLLER_RULE } from '../devices/controller.js';
import { AUDIO_RULE, GRAPHICS_RULE, INPUT_RULE, SOUND_RULE, VIDEO_RULE } from '../devices/desktop.js';
import { DISK_RULE } from '../devices/disk.js';
import { HOSTDEV_RULE } from '../devices/hostdev.js';
import { INTERFACE_RULE } from '../devices/interface.js';
import { MEMBALLOON_RULE, PANIC_RULE, REDIRDEV_RULE, REDIRFILTER_RULE, RNG_RULE, WATCHDOG_RULE } from '../devices/misc-devices.js';
import { CONSOLE_RULE, SERIAL_RULE } from '../devices/serial.js';
import { CLOCK_RULE, FEATURES_RULE, PM_RULE } from '../platform.js';
import type { ElementRule } from './element-rule.js';
import { QEMU_COMMANDLINE_RULE } from '../qemu-namespace.js';
import { SECLABEL_RULE } from '../seclabel.js';
import { OS_SMBIOS_RULE, SYSINFO_RULE } from '../sysinfo.js';
import { DEFAULTIOTHREAD_RULE, IOTHREADIDS_RULE } from '../iothreads.js';
import { CPU_RULE } from '../cpu-model.js';
import { VCPU_RULES } from '../vcpus.js';
import { BLKIOTUNE_RULE } from '../blkiotune.js';
import { MEMTUNE_RULE } from '../memtune.js';
import { TPM_RULE } from '../devices/tpm.js';
import { MEMORY_DEVICE_RULE } from '../devices/memory.js';
import { FILESYSTEM_RULE } from '../devices/filesystem.js';
import { SHMEM_RULE } from '../devices/shmem.js';
import { FIRMWARE_OS_ATTRS, FIRMWARE_OS_CHILDREN } from '../firmware.js';
import { MAX_MEMORY_RULE, MEMORY_BACKING_RULE, NUMATUNE_RULE } from '../memory-layout.js';

const LIFECYCLE: ElementRule = {};
const UNIT = { attrs: { unit: true } } as const;

/** Every device element ferry applies, by name (docs/domain-xml.md lists the same). */
export const DEVICE_RULES: Readonly<Record<string, ElementRule>> = {
  emulator: {},
  disk: DISK_RULE,
  controller: CONTROLLER_RULE,
  interface: INTERFACE_RULE,
  serial: SERIAL_RULE,
  console: CONSOLE_RULE,
  channel: CHANNEL_RULE,
  input: INPUT_RULE,
  graphics: GRAPHICS_RULE,
  video: VIDEO_RULE,
  sound: SOUND_RULE,
  audio: AUDIO_RULE,
  hostdev: HOSTDEV_RULE,
  redirdev: REDIRDEV_RULE,
  redirfilter: REDIRFILTER_RULE,
  watchdog: WATCHDOG_RULE,
  memballoon: MEMBALLOON_RULE,
  rng: RNG_RULE,
  panic: PANIC_RULE,
  memory: MEMORY_DEVICE_RULE,
  filesystem: FILESYSTEM_RULE,
  tpm: TPM_RULE,
  iommu: IOMMU_RULE,
  hub: HUB_RULE,
  pstore: PSTORE_RULE,
  vsock: VSOCK_RULE,
  parallel: PARALLEL_RULE,
  smartcard: SMARTCARD_RULE,
  crypto: CRYPTO_RULE,
  lease: LEASE_RULE,
  shmem: SHMEM_RULE,
};

/**
 * What ferry applies of a domain definition. Anything not named here is
 * refused at define, all of it listed at once (unsupportedParts()): a VM runs
 * exactly as defined or not at all. <metadata> and <description> are the only
 * parts kept without being looked into.
 */
export const DOMAIN_RULE: ElementRule = {
  attrs: { type: ['kvm', 'qemu'], id: true, 'xmlns:qemu': true },
  children: {
    name: {},
    uuid: {},
    genid: {},
    title: {},
    description: { opaque: true },
    metadata: { opaque: true },
    memory: { attrs: { unit: true, dumpCore: ['on', 'off'] } },
    currentMemory: UNIT,
    ...VCPU_RULES,
    blkiotune: BLKIOTUNE_RULE,
    memtune: MEMTUNE_RULE,
    iothreads: {},
    iothreadids: IOTHREADIDS_RULE,
    defaultiothread: DEFAULTIOTHREAD_RULE,
    throttlegroups: THROTTLEGROUPS_RULE,
    maxMemory: MAX_MEMORY_RULE,
    memoryBacking: MEMORY_BACKING_RULE,
    numatune: NUMATUNE_RULE,
    os: {
      attrs: FIRMWARE_OS_ATTRS,
      children: {
        ...FIRMWARE_OS_CHILDREN,
        type: { attrs: { arch: ['x86_64', 'i686'], machine: true } },
        kernel: {},
        initrd: {},
        cmdline: {},
        boot: { attrs: { dev: ['hd', 'cdrom', 'network', 'fd'] } },
        bootmenu: { attrs: { enable: ['yes', 'no'], timeout: true } },
        bios: { attrs: { rebootTimeout: true } },
        acpi: { children: { table: { attrs: { type: ['raw', 'slic', 'msdm'] } } } },
        smbios: OS_SMBIOS_RULE,
      },
    },
    features: FEATURES_RULE,
    cpu: CPU_RULE,
    clock: CLOCK_RULE,
    pm: PM_RULE,
    on_poweroff: LIFECYCLE,
    on_reboot: LIFECYCLE,
    on_crash: LIFECYCLE,
    on_lockfailure: LIFECYCLE,
    devices: { children: DEVICE_RULES },
    'qemu:commandline': QEMU_COMMANDLINE_RULE,
    seclabel: SECLABEL_RULE,
    sysinfo: SYSINFO_RULE,
  },
};
