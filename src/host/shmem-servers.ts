import { type Stats, statSync } from 'node:fs';
import { FerryError } from '../errors/ferry-error.js';
import type { DomainDefinition } from '../vm/definition.js';

/**
 * Refuses a start whose <shmem model='ivshmem-doorbell'> has no server: QEMU
 * reads the shared memory from the server while it starts, so without one it
 * would exit with a socket error. Checked on the live definition (default
 * socket filled in); on a migration's destination too, which needs a server of
 * its own. Whether the server answers is QEMU's to find out (a stale socket
 * file fails there, in QEMU's words).
 */
export function checkShmemServers(live: DomainDefinition, stat: (path: string) => Stats | undefined = statOrUndefined): void {
  for (const s of live.devices.shmems ?? []) {
    const path = s.server?.path;
    if (s.model !== 'ivshmem-doorbell' || path === undefined) continue;
    const st = stat(path);
    if (st?.isSocket()) continue;
    throw new FerryError(
      'SHMEM_SERVER_UNAVAILABLE',
      `<shmem> '${s.name}': ${st ? `'${path}' is not a socket` : `no ivshmem server socket at '${path}'`}: an ivshmem-doorbell device needs its server running before the domain starts`,
      {
        details: { shmem: s.name, path },
      },
    );
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
