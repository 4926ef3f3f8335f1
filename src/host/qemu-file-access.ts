import { chownSync, closeSync, copyFileSync, type Stats, mkdirSync, openSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FerryError } from '../errors/ferry-error.js';
import { allows, type UnixAccount } from '../system/unix-user.js';

/** A file QEMU opens, and how. */
export interface QemuFile {
  path: string;
  /** Read only (kernel, backing file, read-only disk), read and write (disk, NVRAM), or a socket QEMU creates in the directory. */
  access: 'r' | 'rw' | 'create-in-dir';
  /** For messages: "disk vda", "kernel", "serial log". */
  what: string;
  /** Create an empty file when missing (QEMU's log files), without truncating one that exists. */
  create?: boolean;
}

export interface QemuFileAccessOptions {
  /** The account QEMU runs as; undefined: root (user = "root"), which needs nothing granted. */
  account: UnixAccount | undefined;
  /** qemu.conf's dynamic_ownership: chown what QEMU must open to its user; off: only check, and refuse. */
  dynamicOwnership: boolean;
}

/**
 * Gives an unprivileged QEMU what it needs and nothing more (libvirt's DAC
 * security driver): a private run directory, and each file it opens made
 * readable or writable by its user by changing the file's owner when needed.
 * A file whose directories QEMU's user cannot pass through is refused with
 * libvirt's words, naming the directory: ferry does not open up directories.
 */
export class QemuFileAccess {
  constructor(private readonly o: QemuFileAccessOptions) {}

  get account(): UnixAccount | undefined {
    return this.o.account;
  }

  /** Creates a directory for one QEMU (its monitor socket, pidfile, staged certificates), owned by its user, mode 0700. */
  privateDir(path: string): void {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    const a = this.o.account;
    if (a) chownSync(path, a.uid, a.gid);
  }

  /** Writes a file only QEMU's user (and root) may read, mode 0600: the master key of a VM's secrets. */
  privateFile(path: string, data: Buffer): void {
    writeFileSync(path, data, { mode: 0o600, flag: 'wx' });
    const a = this.o.account;
    if (a) chownSync(path, a.uid, a.gid);
  }

  /**
   * Makes every file usable by QEMU's user, or refuses naming the first that cannot be.
   * relabel false (<seclabel type='none' model='dac'>): no owner is changed, only checked.
   */
  grant(files: readonly QemuFile[], options: { relabel?: boolean } = {}): void {
    const a = this.o.account;
    for (const f of files) {
      if (f.create) createIfMissing(f.path);
      if (!a) continue;
      if (f.access === 'create-in-dir') {
        this.checkDirectories(f, dirname(f.path), true);
        continue;
      }
      let st: Stats;
      try {
        st = statSync(f.path);
      } catch {
        continue; // a missing file: QEMU names it in its own error
      }
      this.checkDirectories(f, dirname(f.path), false);
      const real = safeRealpath(f.path);
      if (real !== f.path) this.checkDirectories(f, dirname(real), false);
      if (allows(st, a, f.access === 'rw' ? 0o6 : 0o4)) continue;
      if (!this.o.dynamicOwnership) throw denied(f, a, f.path, 'dynamic_ownership is off');
      // Files ferry makes for QEMU (its logs, memory files) are ferry's own to hand over; the definition's files are not.
      if (options.relabel === false && !f.create) throw denied(f, a, f.path, "the domain's <seclabel type='none' model='dac'> lets ferry change no owner");
      chownSync(f.path, a.uid, a.gid);
      if (!allows(statSync(f.path), a, f.access === 'rw' ? 0o6 : 0o4))
        throw denied(f, a, f.path, `its mode ${(st.mode & 0o777).toString(8)} gives the owner no ${f.access === 'rw' ? 'read and write' : 'read'} access`);
    }
  }

  /** Copies files into a QEMU's private directory (e.g. TLS certificates QEMU must read), owned by its user; returns the directory. */
  stage(files: readonly string[], dir: string): string {
    this.privateDir(dir);
    const a = this.o.account;
    for (const f of files) {
      const target = join(dir, basename(f));
      copyFileSync(f, target);
      if (a) chownSync(target, a.uid, a.gid);
    }
    return dir;
  }

  private checkDirectories(f: QemuFile, dir: string, writeLast: boolean): void {
    const a = this.o.account as UnixAccount;
    const parts = dir.split('/').filter(Boolean);
    for (let i = 0; i <= parts.length; i++) {
      const d = `/${parts.slice(0, i).join('/')}`;
      let st: Stats;
      try {
        st = statSync(d);
      } catch {
        return;
      }
      const need = i === parts.length && writeLast ? 0o3 : 0o1;
      if (!allows(st, a, need)) {
        throw denied(
          f,
          a,
          f.path,
          `QEMU's user cannot ${need === 0o3 ? 'create files in' : 'pass through'} the directory '${d}' (mode ${(st.mode & 0o777).toString(8)}, owner ${st.uid}:${st.gid})`,
        );
      }
    }
  }
}

function denied(f: QemuFile, a: UnixAccount, path: string, why: string): FerryError {
  return new FerryError('QEMU_ACCESS_DENIED', `Cannot access ${f.what} '${path}' (as uid:${a.uid}, gid:${a.gid}): Permission denied: ${why}`, {
    details: { path, what: f.what, user: a.name, uid: a.uid, gid: a.gid },
  });
}

function createIfMissing(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
}

function safeRealpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
