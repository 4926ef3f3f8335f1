import { FerryError } from '../errors/ferry-error.js';
import type { CharSource, DomainDefinition } from '../vm/definition.js';
import { GUEST_AGENT_CHANNEL } from '../vm/devices/channel.js';

/** Where a session attaches on the host: the pty QEMU made, or the unix socket QEMU listens on. */
export type ConsoleBackend =
  | { type: 'pty' }
  | { type: 'unix'; path: string }
  /** Anything else (a file, null, tcp, spicevmc, a unix socket QEMU connects out to): nothing to attach to. */
  | { type: 'none'; kind: string };

/** A device a console session can be opened on. */
export interface ConsoleDevice {
  /** The name --devname picks it by, and the messages use (libvirt's alias: serial0, console1, channel0). */
  alias: string;
  /** QEMU's chardev id (query-chardev's label): one session per chardev, whatever name reached it. */
  chardev: string;
  backend: ConsoleBackend;
}

/**
 * The console device a session opens, as libvirt's qemuDomainOpenConsole
 * picks it: --devname names a serial port, a console or a channel by its
 * alias; without it, the first console, else the first serial port. A console
 * whose target is a serial port is that serial port (libvirt gives both the
 * serial's alias; its consoleN name works too); a virtio console (hvcN in the
 * guest) and a channel are devices of their own. The definition is the live
 * one, whose devices carry their aliases.
 */
export function findConsoleDevice(def: DomainDefinition, devname?: string): ConsoleDevice {
  const d = def.devices;
  const serials = d.serials.map((s, i): Candidate => device(s.alias ?? `serial${i}`, s));
  const consoles = d.consoles.map((c, i): Candidate | undefined => {
    if (c.targetType === 'virtio') return device(c.alias ?? `console${i}`, c);
    const serial = serials[d.serials.findIndex((s) => s.port === c.port)];
    return serial ? { ...serial, otherName: c.alias ?? `console${i}` } : undefined;
  });
  const channels = d.channels.map((ch, i): Candidate => ({ ...device(ch.alias ?? `channel${i}`, ch), agent: ch.targetName === GUEST_AGENT_CHANNEL }));
  const found =
    devname === undefined
      ? (consoles[0] ?? serials[0])
      : [...consoles, ...serials, ...channels].find((x) => x && (x.alias === devname || x.otherName === devname));
  if (!found) {
    throw new FerryError('CONSOLE_NOT_FOUND', `internal error: cannot find character device ${devname ?? '<null>'}`, {
      details: { devname: devname ?? null, devices: [...serials, ...consoles, ...channels].flatMap((x) => (x ? [x.alias] : [])) },
    });
  }
  const name = devname ?? found.alias;
  if (found.agent) {
    throw new FerryError('CONSOLE_BUSY', `operation failed: character device ${name} is the guest agent's channel, which ferryd uses`, {
      hint: 'Talk to the guest agent with "ferry qemu-agent-command <domain> JSON"',
    });
  }
  if (found.backend.type === 'none') {
    const vc = found.backend.kind === 'vc' ? ` (type 'vc': ${VC_WHERE})` : '';
    throw new FerryError('CONSOLE_NOT_PTY', `internal error: character device ${name} is not using a PTY${vc}`, {
      details: { devname: name, backend: found.backend.kind },
    });
  }
  return { alias: found.alias, chardev: found.chardev, backend: found.backend };
}

/** Where a type='vc' device's text is: a console of QEMU's own display, not a host stream a session can open. */
const VC_WHERE =
  "a text console on the domain's graphical display (a VNC or SPICE client: Ctrl+Alt+2 for the first serial port); with no <graphics> it is shown nowhere";

/** A device as the lookup sees it: a serial console answers to its consoleN name too. */
type Candidate = ConsoleDevice & { otherName?: string; agent?: boolean };

function device(alias: string, source: CharSource): ConsoleDevice {
  return { alias, chardev: `char${alias}`, backend: backendOf(source) };
}

function backendOf(s: CharSource): ConsoleBackend {
  if (s.type === 'pty') return { type: 'pty' };
  // A guestfwd channel's host side belongs to slirp, which hands it each connection of the guest.
  if ('targetType' in s && s.targetType === 'guestfwd') return { type: 'none', kind: `${s.type} (guestfwd)` };
  if (s.type === 'unix' && s.sourceMode !== 'connect' && s.sourcePath) return { type: 'unix', path: s.sourcePath };
  return { type: 'none', kind: s.type === 'unix' ? "unix (mode='connect')" : s.type };
}
