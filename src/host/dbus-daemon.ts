import { spawn } from 'node:child_process';
import { isProgram, logTail, pidExists } from '../system/helper-daemon.js';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { DomainDefinition } from '../vm/definition.js';
import type { UnixAccount } from '../system/unix-user.js';
import type { HostPaths } from './host-paths.js';

export interface DbusDaemonDeps {
  paths: HostPaths;
  /** QEMU's account: the bus runs as it (EXTERNAL auth: QEMU's uid may connect; root may always). */
  account: UnixAccount | undefined;
  log: Logger;
  dbusDaemon?: string;
}

/**
 * A D-Bus display that needs ferryd's bus: one with neither an address of its own nor p2p='yes'. In a live
 * definition read back from ferryd's store (after a restart) the mark is gone: the address of the domain's
 * own socket (run/UUID/dbus.sock) still says it is ferryd's bus.
 */
export function needsDbusDaemon(def: DomainDefinition): boolean {
  return def.devices.graphics.some(
    (g) => g.type === 'dbus' && !g.p2p && (g.dbusAddress === undefined || g.dbusAddressGenerated === true || g.dbusAddress.endsWith(`/${def.uuid}/dbus.sock`)),
  );
}

/**
 * The private bus of a domain with a D-Bus display, as libvirt's qemu_dbus.c
 * runs it: one dbus-daemon per running domain, with a configuration of its
 * own (a session-like bus, EXTERNAL auth, everything allowed, QEMU's user and root may connect), listening on
 * dbus.sock in the domain's run directory, started before QEMU as QEMU's
 * user. It runs in its own session; the pidfile in the run directory finds
 * it again after a ferryd restart, and stop() ends it when the domain stops
 * (or its start fails). QEMU registers org.qemu on it.
 */
export class DbusDaemonRunner {
  constructor(private readonly deps: DbusDaemonDeps) {}

  socket(uuid: string): string {
    return join(this.deps.paths.domainRunDir(uuid), 'dbus.sock');
  }

  private pidfile(uuid: string): string {
    return join(this.deps.paths.domainRunDir(uuid), 'dbus.pid');
  }

  private configFile(uuid: string): string {
    return join(this.deps.paths.domainRunDir(uuid), 'dbus.conf');
  }

  /** Starts the domain's bus (its run directory must exist); returns its socket, undefined when the domain needs none. */
  async start(def: DomainDefinition): Promise<string | undefined> {
    if (!needsDbusDaemon(def)) return undefined;
    const socket = this.socket(def.uuid);
    rmSync(socket, { force: true });
    writeFileSync(this.configFile(def.uuid), busConfig(socket), { mode: 0o644 });
    const log = this.deps.paths.dbusLog(def.name);
    mkdirSync(this.deps.paths.logDir, { recursive: true, mode: 0o711 });
    const a = this.deps.account;
    const binary = this.deps.dbusDaemon ?? 'dbus-daemon';
    const args = [`--config-file=${this.configFile(def.uuid)}`, '--nofork', '--nopidfile', '--nosyslog'];
    this.deps.log.debug({ vm: def.name, args, user: a?.name ?? 'root' }, 'starting dbus-daemon');
    const fd = openSync(log, 'a', 0o600);
    let exited: string | undefined;
    try {
      const child = spawn(binary, args, {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
        ...(a ? { uid: a.uid, gid: a.gid } : {}),
      });
      child.once('error', (err) => {
        exited = err.message;
      });
      child.once('exit', (code, signal) => {
        exited ??= `exit ${code ?? signal}`;
      });
      if (child.pid !== undefined) writeFileSync(this.pidfile(def.uuid), `${child.pid}\n`, { mode: 0o644 });
      child.unref();
    } finally {
      closeSync(fd);
    }
    // Ready when its socket exists; a daemon that exits first fails the start with its log.
    const deadline = Date.now() + 10_000;
    while (!existsSync(socket)) {
      if (exited !== undefined || Date.now() > deadline) {
        await this.stop(def.uuid);
        throw new FerryError(
          'DBUS_DAEMON_FAILED',
          `internal error: dbus-daemon for domain '${def.name}' did not start (${exited ?? 'no socket after 10 s'}): ${logTail(log)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return socket;
  }

  /** The pid of the domain's dbus-daemon while it runs (its pidfile, checked against the program): it joins the VM's scope. */
  pidOf(uuid: string): number | undefined {
    try {
      const pid = Number(readFileSync(this.pidfile(uuid), 'utf8').trim());
      return Number.isInteger(pid) && pid > 1 && isProgram(pid, 'dbus-daemon') ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Ends the domain's bus if it runs, and removes its socket. */
  async stop(uuid: string): Promise<void> {
    let pid = NaN;
    try {
      pid = Number(readFileSync(this.pidfile(uuid), 'utf8').trim());
    } catch {
      // no bus was started
    }
    if (Number.isInteger(pid) && pid > 1 && isProgram(pid, 'dbus-daemon')) {
      try {
        process.kill(pid, 'SIGTERM');
        for (let i = 0; i < 100 && pidExists(pid); i++) await new Promise((r) => setTimeout(r, 20));
        if (pidExists(pid)) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const f of [this.socket(uuid), this.pidfile(uuid), this.configFile(uuid)]) rmSync(f, { force: true });
  }
}

/**
 * libvirt's bus configuration for a domain's bus (qemuDBusWriteConfig), plus root: the bus runs as QEMU's
 * user, and dbus-daemon lets only its own user connect unless the policy names another; root (ferryd, the
 * host's administrator with busctl or a display client) may too. The socket is in the run directory (QEMU's, 0700).
 */
function busConfig(socket: string): string {
  return [
    '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"',
    '  "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">',
    '<busconfig>',
    '  <type>org.libvirt.qemu</type>',
    `  <listen>unix:path=${socket}</listen>`,
    '  <auth>EXTERNAL</auth>',
    "  <policy context='default'>",
    "    <allow user='root'/>",
    "    <allow send_destination='*' eavesdrop='true'/>",
    "    <allow eavesdrop='true'/>",
    "    <allow own='*'/>",
    '  </policy>',
    '</busconfig>',
    '',
  ].join('\n');
}
