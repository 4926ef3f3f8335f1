import { spawn } from 'node:child_process';
import { chownSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setprivCommand } from '../system/setpriv.js';
import { allows, type UnixAccount } from '../system/unix-user.js';

export interface AccelProbeResult {
  accel: 'kvm' | 'tcg';
  /** Why: "KVM ran a test guest in 40 ms", "/dev/kvm is missing", ... */
  reason: string;
}

/** A boot sector that writes 0x10 to port 0xf4 (isa-debug-exit): QEMU exits with (0x10 << 1) | 1. */
function bootSector(): Buffer {
  const code = Buffer.from([0xb0, 0x10, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd]);
  const sector = Buffer.alloc(512);
  code.copy(sector);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}
const EXPECTED_EXIT = 33;

/**
 * Decides between KVM and TCG by running a tiny guest under KVM. /dev/kvm can
 * exist and even open while KVM is unusable (nested virtualisation without
 * hardware support runs guests orders of magnitude slower than TCG), so the
 * probe requires the test guest to finish within the deadline.
 */
export interface AccelProbeOptions {
  binary: string;
  /** A directory of ferryd's own for the test guest's image (under its state directory, so a later ferryd finds what a killed one left). */
  dir: string;
  /** Probe as the user domains run as: /dev/kvm must open for it, not only for root. */
  account?: UnixAccount | undefined;
  timeoutMs?: number;
  devKvm?: string;
}

export async function probeAccelerator(options: AccelProbeOptions): Promise<AccelProbeResult> {
  const devKvm = options.devKvm ?? '/dev/kvm';
  const timeoutMs = options.timeoutMs ?? 1500;
  const who = options.account ?? { uid: 0, gid: 0, groups: [0], name: 'root' };
  try {
    if (!allows(statSync(devKvm), who, 0o6))
      return { accel: 'tcg', reason: `${devKvm} is not readable and writable by ${who.name} (add it to the group of ${devKvm})` };
  } catch {
    return { accel: 'tcg', reason: `${devKvm} is missing` };
  }
  const dir = options.dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const image = join(dir, 'boot.img');
  writeFileSync(image, bootSector());
  if (options.account) {
    chownSync(dir, options.account.uid, options.account.gid);
    chownSync(image, options.account.uid, options.account.gid);
  }
  const started = Date.now();
  try {
    const result = await new Promise<{ code: number | null; stderr: string; timedOut: boolean }>((resolve) => {
      // The probe dies with ferryd (a KVM that hangs must not leave a QEMU behind when ferryd is killed meanwhile).
      const cmd = setprivCommand(
        options.binary,
        [
          '-accel',
          'kvm',
          '-machine',
          'pc',
          '-display',
          'none',
          '-nodefaults',
          '-no-user-config',
          '-m',
          '16',
          '-device',
          'isa-debug-exit,iobase=0xf4,iosize=1',
          '-drive',
          `file=${image},format=raw,if=floppy`,
          '-boot',
          'a',
        ],
        { account: options.account, dieWithParent: true },
      );
      const child = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      let timedOut = false;
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('error', (err) => {
        clearTimeout(timer);
        resolve({ code: null, stderr: err.message, timedOut: false });
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr, timedOut });
      });
    });
    const ms = Date.now() - started;
    if (result.code === EXPECTED_EXIT) return { accel: 'kvm', reason: `KVM ran a test guest in ${ms} ms` };
    if (result.timedOut) return { accel: 'tcg', reason: `KVM did not run a test guest within ${timeoutMs} ms (nested virtualisation?)` };
    const last = result.stderr.trim().split('\n').pop() ?? '';
    return { accel: 'tcg', reason: `KVM test guest failed${last ? `: ${last}` : ` (exit ${result.code})`}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
