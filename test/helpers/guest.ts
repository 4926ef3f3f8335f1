import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/..., sources live two levels up). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface GuestImages {
  /** The kernel as an ELF file: QEMU boots it through its PVH entry, with no decompression under TCG. */
  kernel: string;
  /** The same kernel as Debian ships it (an XZ-compressed bzImage): what UEFI firmware boots (its EFI stub), and
   *  what qemu-system-i386 loads (it refuses a 64-bit ELF). */
  bzImage: string;
  /** An uncompressed cpio archive. */
  initrd: string;
}

/**
 * The test guest built by scripts/build-guest.sh, staged by scripts/stage-guest.sh
 * where QEMU's unprivileged user can read it (a checkout may live in a directory
 * only root can pass, as CI's mktemp -d clone); fails loudly when it was not built.
 */
export function testGuest(): GuestImages {
  const built = process.env.FERRY_GUEST_DIR ?? `${REPO_ROOT}.cache/guest`;
  if (!['vmlinux', 'vmlinuz', 'initrd.img'].every((f) => existsSync(`${built}/${f}`))) {
    throw new Error(`test guest missing in ${built}: run scripts/build-guest.sh first`);
  }
  const dir = execFileSync('bash', [`${REPO_ROOT}scripts/stage-guest.sh`, built], { encoding: 'utf8' }).trim();
  return { kernel: `${dir}/vmlinux`, bzImage: `${dir}/vmlinuz`, initrd: `${dir}/initrd.img` };
}

export const QEMU_BINARY = process.env.FERRY_QEMU_BINARY ?? 'qemu-system-x86_64';

export interface GuestXmlOptions {
  name: string;
  uuid?: string;
  memoryMiB?: number;
  vcpus?: number;
  touchMiB?: number;
  dirtyMiBs?: number;
  hbMs?: number;
  extraCmdline?: string;
  /** The guest's console (where ferry-load's heartbeat goes), ttyS0 unless told: one console= only, as a
   *  second one does not move /dev/console on every kernel (Debian's 6.1.192 keeps the first). */
  console?: string;
  disks?: string;
  devices?: string;
  onCrash?: string;
  type?: 'kvm' | 'qemu';
  /** Boot the bzImage through SeaBIOS's linuxboot ROM instead of the ELF through QEMU's PVH entry (the default:
   *  2-3x faster under TCG, no decompression). UEFI firmware and qemu-system-i386 need the bzImage, and so does a
   *  guest with a TPM: QEMU 10.0 places a PVH guest's initrd right below its 160 KiB ACPI allowance, but SeaBIOS's
   *  tables with a TPM's event log take 196 KiB, so the initrd lands on the RSDT and the kernel boots with ACPI
   *  off (no MMCONFIG, devices behind PCIe root ports "in D3cold", no TPM). The bzImage's initrd sits lower. */
  bzImage?: boolean;
}

/**
 * What the test guest needs beside the memory ferry-load touches: Debian's kernel image spans 16-74 MiB of
 * physical memory ("63484K reserved" at 128 MiB), the unpacked initramfs takes 18 MiB of unreclaimable ramfs,
 * then the modules, qemu-ga and the page tables. With 128 MiB and 32 touched (96 beside it) the guest ran out
 * of memory loading its modules in 2 boots of 6 and panicked ("System is deadlocked on memory": ferry-load is
 * PID 1); 112 beside it has not.
 */
export const GUEST_BASE_MIB = 112;
/** Below this the kernel image does not fit and the guest never boots: such domains are only defined or
 *  started, never waited for (their QEMU sits in the firmware), and GUEST_BASE_MIB does not apply. */
export const GUEST_BOOTS_FROM_MIB = 96;

/** Domain XML for the test guest: Debian's kernel, the busybox initramfs and ferry-load. */
export function guestXml(o: GuestXmlOptions): string {
  if (!o.bzImage && /<tpm[\s>]/.test(o.devices ?? '')) {
    throw new Error(`guestXml(${o.name}): a guest with a TPM boots the bzImage (bzImage: true), see GuestXmlOptions.bzImage`);
  }
  const memoryMiB = o.memoryMiB ?? 128;
  const touchMiB = o.touchMiB ?? 16;
  if (memoryMiB >= GUEST_BOOTS_FROM_MIB && memoryMiB - touchMiB < GUEST_BASE_MIB) {
    throw new Error(
      `guestXml(${o.name}): ${memoryMiB} MiB with ${touchMiB} MiB touched leaves the guest less than the ${GUEST_BASE_MIB} MiB its kernel and ` +
        'initramfs need (see GUEST_BASE_MIB): give it more memory or touch less',
    );
  }
  const g = testGuest();
  const cmdline = [
    `console=${o.console ?? 'ttyS0'}`,
    'quiet',
    'panic=-1',
    `ferry.touch=${touchMiB}`,
    `ferry.dirty=${o.dirtyMiBs ?? 0}`,
    `ferry.hb=${o.hbMs ?? 100}`,
    o.extraCmdline ?? '',
  ]
    .filter(Boolean)
    .join(' ');
  return `<domain type='${o.type ?? 'kvm'}'>
  <name>${o.name}</name>
  ${o.uuid ? `<uuid>${o.uuid}</uuid>` : ''}
  <memory unit='MiB'>${memoryMiB}</memory>
  <vcpu>${o.vcpus ?? 1}</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>${o.bzImage ? g.bzImage : g.kernel}</kernel>
    <initrd>${g.initrd}</initrd>
    <cmdline>${cmdline}</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <on_crash>${o.onCrash ?? 'preserve'}</on_crash>
  <devices>
    ${o.disks ?? ''}
    <serial type='pty'/>
    <console type='pty'><target type='serial' port='0'/></console>
    <panic model='isa'/>
    ${o.devices ?? ''}
  </devices>
</domain>
`;
}
