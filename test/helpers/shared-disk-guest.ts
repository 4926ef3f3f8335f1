import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { guestXml, type GuestXmlOptions } from './guest.js';
import { waitHeartbeats } from './heartbeat.js';
import type { TwoHosts } from './two-hosts.js';

/**
 * Defines and starts on A the guest of the recovery tests and the fault matrix: the test guest with a qcow2 disk
 * (`diskMiB`) on storage both hosts see, so every migration moves its disk lease, and `<on_lockfailure>poweroff`,
 * so a lease check that took a migrating VM for one that lost its lease would kill it. Waits for its heartbeat;
 * its uuid.
 */
export async function bootSharedDiskGuest(hosts: TwoHosts, o: Omit<GuestXmlOptions, 'disks'> & { diskMiB: number }): Promise<string> {
  const { diskMiB, ...guest } = o;
  mkdirSync(`${hosts.dir.path}/shared`, { recursive: true });
  const disk = `${hosts.dir.path}/shared/${o.name}.qcow2`;
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, `${diskMiB}M`]);
  const xml = guestXml({
    ...guest,
    disks: `<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>`,
  }).replace('</on_crash>', '</on_crash>\n  <on_lockfailure>poweroff</on_lockfailure>');
  const file = `${hosts.dir.path}/${o.name}.xml`;
  writeFileSync(file, xml);
  await hosts.a.ok('define', file);
  await hosts.a.ok('start', o.name);
  await waitHeartbeats(() => hosts.a.serialLog(o.name), 2, { timeoutMs: 90_000 });
  return (await hosts.a.ok('domuuid', o.name)).trim();
}
