import type { PstoreDefinition } from '../../vm/devices/pstore.js';
import { device, escapeOpt, pciProps } from './device-props.js';

/** The pstore's file as a shared memory backend, and the acpi-erst device on it (libvirt 11's arguments). */
export function pstoreArgs(p: PstoreDefinition, q35: boolean): string[] {
  const mem = `mem${p.alias}`;
  return [
    '-object',
    `memory-backend-file,id=${mem},mem-path=${escapeOpt(p.path)},size=${p.sizeKiB * 1024},share=on`,
    ...device('acpi-erst', [`id=${p.alias}`, `memdev=${mem}`, ...pciProps(p.address, q35)]),
  ];
}
