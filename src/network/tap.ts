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
 * Creates a tap device with the bridge's MTU, attaches it to the bridge and
 * brings it up (what libvirt does for type='bridge' and type='network').
 */
export async function createTap(name: string, bridge: string): Promise<void> {
  let mtu: string;
  try {
    mtu = (await readFile(`/sys/class/net/${bridge}/mtu`, 'utf8')).trim();
  } catch {
    throw new FerryError('NET_BRIDGE_MISSING', `Cannot get interface MTU on '${bridge}': No such device`, {
      details: { bridge },
    });
  }
  try {
    await run('ip', ['tuntap', 'add', 'dev', name, 'mode', 'tap']);
    await run('ip', ['link', 'set', 'dev', name, 'mtu', mtu]);
    await run('ip', ['link', 'set', 'dev', name, 'master', bridge]);
    await run('ip', ['link', 'set', 'dev', name, 'up']);
  } catch (err) {
    await deleteTap(name);
    throw new FerryError('NET_TAP_FAILED', `Unable to create tap device ${name} on bridge ${bridge}: ${stderrOf(err)}`, { cause: err });
  }
}

/** Removes a tap device; a missing one is fine. */
export async function deleteTap(name: string): Promise<void> {
  await run('ip', ['link', 'del', 'dev', name]).catch(() => undefined);
}

function stderrOf(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr ?? e.message ?? String(err)).trim();
}
