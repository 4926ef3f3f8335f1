import { FerryError } from '../errors/ferry-error.js';
import type { DomainDefinition } from '../vm/definition.js';

/** Where a session attaches on the host: the pty QEMU made, or the unix socket QEMU listens on. */
export type ConsoleBackend =
  | { type: 'pty' }
  | { type: 'unix'; path: string }
  /** Anything else (a file, null, a unix socket QEMU connects out to): nothing to attach to. */
  | { type: 'none'; kind: string };

/** A device a console session can be opened on. */
export interface ConsoleDevice {
  /** The name --devname picks it by, and the messages use (libvirt's alias: serial0, console0, channel0). */
  alias: string;
  /** QEMU's chardev id (query-chardev's label): one session per chardev, whatever name reached it. */
  chardev: string;
  backend: ConsoleBackend;
}

/**
 * The console device a session opens, as libvirt's qemuDomainOpenConsole
 * picks it: --devname names a console, serial port or channel by its alias;
 * without it, the first console, else the first serial port. A console whose
 * target is a serial port is that serial port (libvirt gives both one alias).
 */
export function findConsoleDevice(def: DomainDefinition, devname?: string): ConsoleDevice {
  const serials = def.devices.serials.map((s, i): ConsoleDevice => ({
    alias: `serial${i}`,
    chardev: `charserial${i}`,
    backend: s.type === 'pty' ? { type: 'pty' }
      : s.type === 'unix' && s.sourceMode !== 'connect' && s.sourcePath ? { type: 'unix', path: s.sourcePath }
        : { type: 'none', kind: s.type === 'unix' ? 'unix (mode=\'connect\')' : s.type },
  }));
  const consoles = def.devices.consoles.map((c) => serials[def.devices.serials.findIndex((s) => s.port === c.port)]);
  let found: ConsoleDevice | undefined;
  if (devname === undefined) {
    found = consoles[0] ?? serials[0];
  } else {
    const n = /^console(\d+)$/.exec(devname);
    found = serials.find((s) => s.alias === devname) ?? (n ? consoles[Number(n[1])] : undefined);
  }
  if (!found) {
    throw new FerryError('CONSOLE_NOT_FOUND', `internal error: cannot find character device ${devname ?? '<null>'}`, {
      details: { devname: devname ?? null, devices: serials.map((s) => s.alias) },
    });
  }
  if (found.backend.type === 'none') {
    throw new FerryError('CONSOLE_NOT_PTY', `internal error: character device ${devname ?? found.alias} is not using a PTY`, {
      details: { devname: devname ?? found.alias, backend: found.backend.kind },
    });
  }
  return found;
}
