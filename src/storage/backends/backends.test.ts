import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandRunner } from '../command-runner.js';
import type { PoolDefinition } from '../pool-definition.js';
import { iscsiLoginArgs, IscsiBackend } from './iscsi-backend.js';
import { LogicalBackend } from './logical-backend.js';
import { isMounted, mountArgs } from './mount-backend.js';

const pool = (p: Partial<PoolDefinition>): PoolDefinition => ({ type: 'dir', name: 'p', uuid: 'u', source: {}, target: { path: '/mnt/p' }, ...p });

/** Records the command lines a backend runs (these backends need hardware or servers this machine lacks). */
function recorder(replies: Record<string, string> = {}): { run: CommandRunner; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    run: async (cmd, args) => {
      const line = [cmd, ...args].join(' ');
      calls.push(line);
      return { stdout: replies[cmd] ?? '', stderr: '' };
    },
  };
}

describe('mountArgs()', () => {
  it("mounts NFS exports as host:path (the seed's netfs pool)", () => {
    assert.deepEqual(mountArgs(pool({ type: 'netfs', source: { host: 'nfs-01', dir: '/testvms' }, target: { path: '/var/lib/libvirt/images/testvms' } })), [
      '-t',
      'nfs',
      'nfs-01:/testvms',
      '/var/lib/libvirt/images/testvms',
    ]);
  });
  it('mounts CIFS, GlusterFS and local filesystems with their own syntax', () => {
    assert.deepEqual(mountArgs(pool({ type: 'netfs', source: { host: 'smb', dir: '/share', format: 'cifs' } })), [
      '-t',
      'cifs',
      '//smb/share',
      '/mnt/p',
      '-o',
      'guest',
    ]);
    assert.deepEqual(mountArgs(pool({ type: 'gluster', source: { host: 'g1', name: 'gv0' } })), ['-t', 'glusterfs', 'g1:/gv0', '/mnt/p']);
    assert.deepEqual(mountArgs(pool({ type: 'fs', source: { device: '/dev/sdb1', format: 'ext4' } })), ['-t', 'ext4', '/dev/sdb1', '/mnt/p']);
    assert.deepEqual(mountArgs(pool({ type: 'fs', source: { device: '/dev/sdb1' } })), ['/dev/sdb1', '/mnt/p']);
  });
  it('isMounted() reads the mount table', () => {
    assert.equal(isMounted('/mnt/p', 'nfs-01:/x /mnt/p nfs rw 0 0\n'), true);
    assert.equal(isMounted('/mnt/q', 'nfs-01:/x /mnt/p nfs rw 0 0\n'), false);
  });
});

describe('LogicalBackend', () => {
  it('drives LVM: activate, create a raw LV in bytes, list, remove', async () => {
    const r = recorder({ lvs: '  vm1|10737418240\n  vm2|1073741824\n', vgs: '  53687091200|42949672960\n' });
    const b = new LogicalBackend(r.run);
    const def = pool({ type: 'logical', source: { name: 'vg0', device: '/dev/sdc' }, target: { path: '/dev/vg0' } });
    await b.start(def);
    await b.createVolume(def, { name: 'vm3', format: 'raw', capacity: 1048576 });
    const vols = await b.listVolumes(def);
    await b.deleteVolume(def, 'vm3');
    await b.build(def);
    assert.deepEqual(r.calls, [
      'vgchange -aly vg0',
      'lvcreate --yes --name vm3 --size 1048576b vg0',
      'lvs --noheadings --units b --nosuffix --separator | -o lv_name,lv_size vg0',
      'lvremove --force vg0/vm3',
      'vgcreate vg0 /dev/sdc',
    ]);
    assert.deepEqual(
      vols.map((v) => [v.name, v.path, v.capacity]),
      [
        ['vm1', '/dev/vg0/vm1', 10737418240],
        ['vm2', '/dev/vg0/vm2', 1073741824],
      ],
    );
    assert.deepEqual(await b.stats(def), { capacity: 53687091200, allocation: 10737418240, available: 42949672960 });
    await assert.rejects(b.createVolume(def, { name: 'q', format: 'qcow2', capacity: 1 }), /raw volumes only/);
  });
});

describe('IscsiBackend', () => {
  it('discovers and logs in to the target, and names LUNs by their by-path links', async () => {
    const r = recorder();
    const def = pool({ type: 'iscsi', source: { host: '192.0.2.10', device: 'iqn.2024-01.org.example:storage' } });
    const b = new IscsiBackend(r.run, '/nonexistent/by-path');
    await b.start(def);
    await b.stop(def);
    assert.deepEqual(r.calls, [
      'iscsiadm --mode discovery --type sendtargets --portal 192.0.2.10:3260',
      'iscsiadm --mode node --targetname iqn.2024-01.org.example:storage --portal 192.0.2.10:3260 --login',
      'iscsiadm --mode node --targetname iqn.2024-01.org.example:storage --portal 192.0.2.10:3260 --logout',
    ]);
    assert.deepEqual(iscsiLoginArgs(def, 'logout').at(-1), '--logout');
    assert.equal(b.volumePath(def, 'unit:0:0:1'), '/nonexistent/by-path/ip-192.0.2.10:3260-iscsi-iqn.2024-01.org.example:storage-lun-1');
    await assert.rejects(b.createVolume(def), /does not support volume creation/);
  });
});
