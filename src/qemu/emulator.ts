import { dirname, join } from 'node:path';
import type { DomainDefinition } from '../vm/definition.js';

/**
 * The QEMU binary a domain runs on: its <emulator> when it names one; else, for
 * <type arch='i686'>, qemu-system-i386 next to the configured binary (libvirt
 * picks the emulator by the guest's architecture); else the configured binary.
 */
export function emulatorFor(def: DomainDefinition, configured: string): string {
  if (def.devices.emulator !== undefined) return def.devices.emulator;
  if (def.os.arch === 'i686') return join(dirname(configured), 'qemu-system-i386');
  return configured;
}

/** QEMU's target of that binary, as its CPU device types name it (max-x86_64-cpu, max-i386-cpu). */
export function qemuTarget(def: DomainDefinition): 'x86_64' | 'i386' {
  return /i386$/.test(emulatorFor(def, 'qemu-system-x86_64')) ? 'i386' : 'x86_64';
}
