import { closeSync, openSync, readSync } from 'node:fs';
import { FerryError } from '../errors/ferry-error.js';
import type { DomainDefinition } from '../vm/definition.js';

/** XEN_ELFNOTE_PHYS32_ENTRY: the note (owner "Xen") whose presence makes QEMU boot an ELF kernel through its PVH entry. */
const PHYS32_ENTRY_NOTE = 18;
const PT_NOTE = 4;

/** Reads `length` bytes at `offset` of a file (fewer at its end). */
export type ReadAt = (offset: number, length: number) => Buffer;

/**
 * Whether a kernel image is an ELF file with a PVH entry note: the kernels
 * QEMU's x86 machines load themselves and enter in 32-bit protected mode
 * (x86_load_linux's pvh_load_elfboot), where a bzImage goes through the
 * firmware's linuxboot option ROM. Anything that cannot be read or parsed is
 * not one (QEMU says what is wrong with it).
 */
export function hasPvhEntry(readAt: ReadAt): boolean {
  const h = readAt(0, 64);
  if (h.length < 52 || h.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64 = h[4] === 2;
  const little = h[5] === 1;
  if (!little || (is64 && h.length < 64)) return false;
  const phoff = is64 ? Number(h.readBigUInt64LE(32)) : h.readUInt32LE(28);
  const phentsize = h.readUInt16LE(is64 ? 54 : 42);
  const phnum = h.readUInt16LE(is64 ? 56 : 44);
  if (phnum > 64 || phentsize < (is64 ? 56 : 32)) return false;
  const table = readAt(phoff, phentsize * phnum);
  for (let i = 0; i < phnum && (i + 1) * phentsize <= table.length; i++) {
    const p = table.subarray(i * phentsize);
    if (p.readUInt32LE(0) !== PT_NOTE) continue;
    const offset = is64 ? Number(p.readBigUInt64LE(8)) : p.readUInt32LE(4);
    const size = is64 ? Number(p.readBigUInt64LE(32)) : p.readUInt32LE(16);
    if (notesHoldPvhEntry(readAt(offset, Math.min(size, 1 << 20)))) return true;
  }
  return false;
}

/** Walks ELF notes (namesz, descsz, type, name and desc each padded to 4 bytes). */
function notesHoldPvhEntry(notes: Buffer): boolean {
  const pad = (n: number): number => (n + 3) & ~3;
  for (let at = 0; at + 12 <= notes.length;) {
    const namesz = notes.readUInt32LE(at);
    const descsz = notes.readUInt32LE(at + 4);
    const type = notes.readUInt32LE(at + 8);
    const name = notes.subarray(at + 12, at + 12 + namesz).toString('latin1');
    if (type === PHYS32_ENTRY_NOTE && name.replace(/\0+$/, '') === 'Xen') return true;
    at += 12 + pad(namesz) + pad(descsz);
  }
  return false;
}

/** readAt over a file; an unreadable file reads as empty. */
export function fileReader(path: string): ReadAt {
  return (offset, length) => {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return Buffer.alloc(0);
    }
    try {
      const buf = Buffer.alloc(length);
      return buf.subarray(0, readSync(fd, buf, 0, length, offset));
    } catch {
      return Buffer.alloc(0);
    } finally {
      closeSync(fd);
    }
  };
}

/**
 * Refuses to boot a guest QEMU would give a corrupt ACPI table: an ELF kernel
 * with a PVH entry, an <initrd> and a <tpm>, under the default firmware
 * (SeaBIOS). QEMU 10.0 puts a PVH guest's initrd right below the 160 KiB it
 * leaves for the firmware's ACPI tables, but SeaBIOS with a TPM reserves more
 * (its tables and the TPM's event log: 196 KiB), so the initrd overwrites the
 * RSDT and the kernel boots with ACPI off: no TPM, no MMCONFIG, the devices
 * behind PCIe root ports unreachable. A different machine than the one
 * defined, so it is not started. Not checked for an incoming migration or a
 * restore, whose memory comes from the stream.
 */
export function checkPvhInitrdWithTpm(live: DomainDefinition, readKernel: (path: string) => ReadAt = fileReader): void {
  const { kernel, initrd, firmware } = live.os;
  if (!kernel || !initrd || !live.devices.tpm) return;
  // A <loader> of its own (OVMF, or a ROM ferry cannot know), or UEFI chosen by the host: not SeaBIOS.
  if (firmware?.loader?.path || firmware?.auto === 'efi') return;
  if (!hasPvhEntry(readKernel(kernel))) return;
  throw new FerryError(
    'XML_UNSUPPORTED',
    `unsupported configuration: <kernel> '${kernel}' is an ELF kernel QEMU boots through its PVH entry, and with an <initrd> and a <tpm model='${live.devices.tpm.model}'> under SeaBIOS QEMU loads the initrd over the firmware's ACPI tables: the guest would boot without ACPI (no TPM, no devices behind PCIe root ports)`,
    {
      hint: "Boot the kernel's bzImage (vmlinuz) in <kernel>, or use UEFI firmware (<os firmware='efi'>), or drop the <initrd>",
      details: { kernel, initrd },
    },
  );
}
