import { constants, open, close, fstat, lstat, statSync, type Stats } from 'node:fs';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tty from 'node:tty';
import { FerryError } from '../errors/ferry-error.js';
import type { ChardevInfo } from '../qemu/monitor.js';
import type { ConsoleDevice } from './console-devices.js';

export interface GuestChannelInput {
  device: ConsoleDevice;
  /** query-chardev of the domain's QEMU (for a pty's path). */
  chardevs: () => Promise<ChardevInfo[]>;
  /** QEMU's pid: the pty or socket must belong to QEMU's user. */
  qemuPid: number;
}

/**
 * The host's end of a console device, as a non-blocking byte stream: the pty
 * QEMU made (its path from query-chardev), or a connection to the unix socket
 * QEMU listens on. QEMU keeps copying the guest's output to the device's log
 * file either way. ferryd runs as root and QEMU does not, so what QEMU reports
 * is checked before ferryd opens it: a pty under /dev/pts, or a socket, owned
 * by QEMU's own user (a QEMU that lies about its pty cannot make ferryd open
 * someone's terminal).
 */
export async function openGuestChannel(input: GuestChannelInput): Promise<Duplex> {
  const owner = qemuUid(input.qemuPid);
  const { device } = input;
  if (device.backend.type === 'pty') return openPty(await ptyPath(input), owner, device.alias);
  if (device.backend.type === 'unix') return connectUnix(device.backend.path, owner, device.alias);
  throw new FerryError('CONSOLE_NOT_PTY', `internal error: character device ${device.alias} is not using a PTY`);
}

async function ptyPath(input: GuestChannelInput): Promise<string> {
  const info = (await input.chardevs()).find((c) => c.label === input.device.chardev);
  const path = info?.filename.startsWith('pty:') ? info.filename.slice(4) : undefined;
  if (!path || !/^\/dev\/pts\/\d+$/.test(path)) {
    throw new FerryError(
      'INTERNAL_ERROR',
      `internal error: QEMU reports no pty for character device ${input.device.alias} (${info ? `'${info.filename}'` : `no chardev ${input.device.chardev}`})`,
      {
        details: { chardev: input.device.chardev, filename: info?.filename ?? null },
      },
    );
  }
  return path;
}

function openPty(path: string, owner: number, alias: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    // O_NOCTTY: the guest's console must never become ferryd's controlling terminal.
    open(path, constants.O_RDWR | constants.O_NOCTTY, (err, fd) => {
      if (err) return reject(guestFailure(alias, path, err));
      fstat(fd, (statErr, st) => {
        const wrong = statErr ? statErr.message : st.isCharacterDevice() ? ownerMismatch(st, owner) : 'not a character device';
        if (wrong) {
          close(fd, () => undefined);
          return reject(new FerryError('INTERNAL_ERROR', `internal error: refusing ${path} for character device ${alias}: ${wrong}`));
        }
        try {
          // A tty stream: libuv reopens the pty non-blocking, so a guest that writes nothing never holds a thread.
          resolve(new tty.ReadStream(fd));
        } catch (ttyErr) {
          close(fd, () => undefined);
          reject(guestFailure(alias, path, ttyErr as Error));
        }
      });
    });
  });
}

function connectUnix(path: string, owner: number, alias: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    lstat(path, (statErr, st) => {
      const wrong = statErr ? undefined : st.isSocket() ? ownerMismatch(st, owner) : 'not a socket';
      if (statErr) return reject(guestFailure(alias, path, statErr));
      if (wrong) return reject(new FerryError('INTERNAL_ERROR', `internal error: refusing ${path} for character device ${alias}: ${wrong}`));
      const socket = net.createConnection({ path });
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (err) => reject(guestFailure(alias, path, err)));
    });
  });
}

function ownerMismatch(st: Stats, owner: number): string | undefined {
  return st.uid === owner ? undefined : `it belongs to uid ${st.uid}, not to QEMU's uid ${owner}`;
}

/** The user QEMU runs as: the owner of its /proc entry. */
function qemuUid(pid: number): number {
  try {
    return statSync(`/proc/${pid}`).uid;
  } catch (err) {
    throw new FerryError('DOMAIN_NOT_RUNNING', `Requested operation is not valid: domain is not running (its QEMU, pid ${pid}, is gone)`, { cause: err });
  }
}

function guestFailure(alias: string, path: string, err: Error): FerryError {
  return new FerryError('INTERNAL_ERROR', `internal error: cannot open character device ${alias} (${path}): ${err.message}`, { cause: err });
}
