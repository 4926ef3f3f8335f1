import { closeSync, ftruncateSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../errors/ferry-error.js';
import { OfdLocker } from '../locking/ofd-lock.js';

/**
 * One ferryd per state directory (invariant 9), as libvirtd's locked pidfile:
 * ferryd.pid in the state directory, held with an exclusive OFD lock for the
 * daemon's life and holding its pid. The kernel drops the lock when ferryd
 * exits, however it exits, so a stale file never blocks a start.
 */
export class StateDirLock {
  private constructor(
    private fd: number | undefined,
    readonly path: string,
  ) {}

  static acquire(stateDir: string, locker = new OfdLocker()): StateDirLock {
    const path = join(stateDir, 'ferryd.pid');
    let fd: number | undefined;
    try {
      fd = locker.tryLock(path, 'exclusive', { create: true });
    } catch (err) {
      throw new FerryError('CONFIG_INVALID', `cannot lock the state directory '${stateDir}': ${(err as Error).message}`, { cause: err });
    }
    if (fd === undefined) {
      const holder = readPid(path);
      throw new FerryError('STATE_DIR_LOCKED', `another ferryd${holder ? ` (pid ${holder})` : ''} is using the state directory '${stateDir}'`, {
        details: { stateDir, pid: holder },
      });
    }
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
    return new StateDirLock(fd, path);
  }

  release(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

function readPid(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}
