import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { FerryError } from '../errors/ferry-error.js';

const run = promisify(execFile);

/** A tap name unique per host and domain interface, within IFNAMSIZ (15). */
export function tapName(hostId: string, uuid: string, index: number): string {
  return `fe${createHash('sha256').update(`${hostId}/${uuid}`).digest('hex').slice(0, 10)}n${index}`;
}

/**
 * Creates a tap device and brings it up (what libvirt does for type='bridge',
 * 'network' and 'ethernet'): with `multiQueue` for a multiqueue NIC, the
 * interface's <mtu> or else the bridge's MTU, attached to `bridge` if given.
 */
export async function createTap(name: string, options: { bridge?: string; mtu?: number; multiQueue?: boolean; isolated?: boolean } = {}): Promise<void> {
  const { bridge } = options;
  let mtu = options.mtu === undefined ? undefined : String(options.mtu);
  if (bridge !== undefined) {
    let bridgeMtu: string;
    try {
      bridgeMtu = (await readFile(`/sys/class/net/${bridge}/mtu`, 'utf8')).trim();
    } catch {
      throw new FerryError('NET_BRIDGE_MISSING', `Cannot get interface MTU on '${bridge}': No such device`, {
        details: { bridge },
      });
    }
    mtu ??= bridgeMtu;
  }
  try {
    await run('ip', ['tuntap', 'add', 'dev', name, 'mode', 'tap', ...(options.multiQueue ? ['multi_queue'] : [])]);
    if (mtu !== undefined) await run('ip', ['link', 'set', 'dev', name, 'mtu', mtu]);
    if (bridge !== undefined) await run('ip', ['link', 'set', 'dev', name, 'master', bridge]);
    // <port isolated='yes'>: the bridge forwards between this port and non-isolated ones only (the kernel's BR_ISOLATED).
    if (bridge !== undefined && options.isolated) await run('ip', ['link', 'set', 'dev', name, 'type', 'bridge_slave', 'isolated', 'on']);
    await run('ip', ['link', 'set', 'dev', name, 'up']);
  } catch (err) {
    await deleteTap(name);
    const where = bridge === undefined ? '' : ` on bridge ${bridge}`;
    throw new FerryError('NET_TAP_FAILED', `Unable to create tap device ${name}${where}: ${stderrOf(err)}`, { cause: err });
  }
}

/**
 * The host side of a routed tap (type='ethernet' <source><ip>/<route>): its
 * addresses (a point-to-point peer where given), then the routes through it.
 * They go with the tap when it is removed.
 */
export async function addHostSide(
  name: string,
  ips: ReadonlyArray<{ address: string; family: 'ipv4' | 'ipv6'; prefix?: number; peer?: string }>,
  routes: ReadonlyArray<{ family: 'ipv4' | 'ipv6'; address: string; prefix?: number; gateway: string; metric?: number }>,
): Promise<void> {
  try {
    for (const ip of ips) {
      const addr = ip.prefix === undefined ? ip.address : `${ip.address}/${ip.prefix}`;
      await run('ip', [ip.family === 'ipv6' ? '-6' : '-4', 'addr', 'add', addr, ...(ip.peer ? ['peer', ip.peer] : []), 'dev', name]);
    }
    for (const r of routes) {
      const to = r.prefix === undefined ? r.address : `${r.address}/${r.prefix}`;
      await run('ip', [
        r.family === 'ipv6' ? '-6' : '-4',
        'route',
        'add',
        to,
        'via',
        r.gateway,
        'dev',
        name,
        ...(r.metric === undefined ? [] : ['metric', String(r.metric)]),
      ]);
    }
  } catch (err) {
    throw new FerryError('NET_TAP_FAILED', `Failed to set the host side of tap device ${name} (<source><ip>/<route>): ${stderrOf(err)}`, { cause: err });
  }
}

/** Removes a tap device; a missing one is fine. */
export async function deleteTap(name: string): Promise<void> {
  await run('ip', ['link', 'del', 'dev', name]).catch(() => undefined);
}

export function stderrOf(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr ?? e.message ?? String(err)).trim();
}
