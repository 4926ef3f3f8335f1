import type { DomainDefinition } from '../../vm/definition.js';
import { escapeOpt, device, pciProps } from './device-props.js';

/** Where ivshmem-plain's memory is: /dev/shm/NAME (POSIX shared memory, shared by every domain naming it), as libvirt puts it. */
export const shmemMemPath = (name: string): string => `/dev/shm/${name}`;

/**
 * Each <shmem>, with libvirt's ids: ivshmem-plain on a shared
 * memory-backend-file (shmmem-shmemN) over /dev/shm/NAME; ivshmem-doorbell
 * with a socket chardev (charshmemN) to its server. role= is QEMU's master=.
 * The live definition has the server's path (the host's default filled in).
 */
export function shmemArgs(def: DomainDefinition, q35: boolean): string[] {
  return (def.devices.shmems ?? []).flatMap((s, i) => {
    const id = s.alias ?? `shmem${i}`;
    const master = s.role === undefined ? undefined : `master=${s.role === 'master' ? 'on' : 'off'}`;
    if (s.model === 'ivshmem-plain') {
      const mem = `shmmem-${id}`;
      return [
        '-object',
        `memory-backend-file,id=${mem},mem-path=${escapeOpt(shmemMemPath(s.name))},size=${s.sizeBytes},share=on`,
        ...device('ivshmem-plain', [`id=${id}`, `memdev=${mem}`, master, ...pciProps(s.address, q35)]),
      ];
    }
    // libvirt's order (QEMU creates every -chardev before any -device).
    const chardev = `char${id}`;
    return [
      ...device('ivshmem-doorbell', [
        `id=${id}`,
        `chardev=${chardev}`,
        s.vectors === undefined ? undefined : `vectors=${s.vectors}`,
        `ioeventfd=${s.ioeventfd === false ? 'off' : 'on'}`,
        master,
        ...pciProps(s.address, q35),
      ]),
      '-chardev',
      `socket,id=${chardev},path=${escapeOpt(s.server?.path ?? '')}`,
    ];
  });
}
