import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { FerryError } from '../errors/ferry-error.js';
import { deleteTap, stderrOf } from './tap.js';

const run = promisify(execFile);

/**
 * Creates the macvtap of a type='direct' interface on host interface `parent`
 * (libvirt's virNetDevMacVLanCreate): the guest's MAC, the given mode, up.
 * Returns its ifindex: QEMU gets /dev/tap<ifindex> opened by ferryd.
 */
export async function createMacvtap(o: { name: string; parent: string; mode: string; mac: string; mtu?: number }): Promise<number> {
  try {
    await run('ip', ['link', 'add', 'link', o.parent, 'name', o.name, 'address', o.mac, 'type', 'macvtap', 'mode', o.mode]);
    if (o.mtu !== undefined) await run('ip', ['link', 'set', 'dev', o.name, 'mtu', String(o.mtu)]);
    await run('ip', ['link', 'set', 'dev', o.name, 'up']);
    return Number((await readFile(`/sys/class/net/${o.name}/ifindex`, 'utf8')).trim());
  } catch (err) {
    await deleteTap(o.name);
    throw new FerryError('NET_MACVTAP_FAILED', `Unable to create macvtap device ${o.name} on ${o.parent} (mode ${o.mode}): ${stderrOf(err)}`, {
      cause: err,
      details: { parent: o.parent, mode: o.mode },
    });
  }
}
