import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { guestXml } from '../helpers/guest.js';
import { assertIntactAfterSwitch, guestCorrupted, lastSeq, parseHeartbeats, waitFullScrub, waitHeartbeats } from '../helpers/heartbeat.js';
import { eventually, pidsMatching } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

const sameImages = (a: string, b: string): boolean => {
  try {
    execFileSync('qemu-img', ['compare', '-q', '-U', a, b]);
    return true;
  } catch {
    return false;
  }
};
const qemuIo = (img: string, fmt: string, cmd: string): void => void execFileSync('qemu-io', ['-f', fmt, '-c', cmd, img]);
const diskXml = (pool: string, vol: string): string =>
  `<disk type='volume' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source pool='${pool}' volume='${vol}'/><target dev='vda' bus='virtio'/></disk>`;

/**
 * Offline and suspended migration, and storage migration: pools named the same
 * on both hosts, either sharing one directory ("shared", as the seed's NFS
 * pool) or each with its own directory ("testvms": no shared storage).
 */
describe('offline, suspended and storage migration', () => {
  const hosts = new TwoHosts();
  const sharedDir = `${hosts.dir.path}/shared`;
  const poolDir = (h: 'a' | 'b', pool: string): string => `${hosts.dir.path}/${h}-pools/${pool}`;
  const xmlFile = (name: string, xml: string): string => {
    const f = `${hosts.dir.path}/${name}.xml`;
    writeFileSync(f, xml);
    return f;
  };

  before(async () => {
    await hosts.start();
    mkdirSync(sharedDir, { recursive: true });
    for (const [h, host] of [
      ['a', hosts.a],
      ['b', hosts.b],
    ] as const) {
      await host.ok('pool-define-as', '--name', 'shared', '--type', 'dir', '--target', sharedDir);
      await host.ok('pool-start', 'shared');
      await host.ok('pool-define-as', '--name', 'testvms', '--type', 'dir', '--target', poolDir(h, 'testvms'));
      await host.ok('pool-start', 'testvms', '--build');
    }
  });
  after(async () => {
    try {
      execFileSync('umount', [poolDir('b', 'tiny')]);
    } catch {
      // not mounted
    }
    await hosts.stop();
  });

  it('offline migration, as in the seed: Migration: [100 %], shut off on the destination, then started there', async () => {
    await hosts.a.ok('vol-create-as', 'shared', 'MasteringKVM01.qcow2', '64M', '--format', 'qcow2');
    await hosts.a.ok('define', xmlFile('MasteringKVM01', guestXml({ name: 'MasteringKVM01', disks: diskXml('shared', 'MasteringKVM01.qcow2') })));
    const refused = await hosts.a.ferry('migrate', '--offline', '--verbose', 'MasteringKVM01', hosts.bPeer);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: invalid argument: flag VIR_MIGRATE_OFFLINE requires VIR_MIGRATE_PERSIST_DEST\n/);

    const r = await hosts.a.ferry('migrate', '--offline', '--verbose', '--persistent', 'MasteringKVM01', hosts.bPeer);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Migration: \[100 %\]\n$/);
    assert.equal(await hosts.b.ok('list', '--all'), ` Id   Name             State\n${'-'.repeat(33)}\n -    MasteringKVM01   shut off\n\n`);
    assert.equal(await hosts.b.ok('start', 'MasteringKVM01'), "Domain 'MasteringKVM01' started\n\n");
    await waitHeartbeats(() => hosts.b.serialLog('MasteringKVM01'), 2);
    assert.match(await hosts.a.ok('list', '--all'), / -    MasteringKVM01   shut off/, 'the source keeps its definition without --undefinesource');
    await hosts.b.ok('destroy', 'MasteringKVM01');
  });

  it('a VM paused before a migration stays paused on the destination', async () => {
    await hosts.a.ok('vol-create-as', 'shared', 'sleepy.qcow2', '64M', '--format', 'qcow2');
    await hosts.a.ok('define', xmlFile('sleepy', guestXml({ name: 'sleepy', disks: diskXml('shared', 'sleepy.qcow2') })));
    await hosts.a.ok('start', 'sleepy');
    await waitHeartbeats(() => hosts.a.serialLog('sleepy'), 2);
    await hosts.a.ok('suspend', 'sleepy');
    await hosts.a.ok('migrate', '--live', '--persistent', 'sleepy', hosts.bPeer);
    assert.equal(await hosts.b.state('sleepy'), 'paused (user)');
    const seq = parseHeartbeats(hosts.serial('sleepy')).at(-1)?.seq ?? 0;
    await hosts.b.ok('resume', 'sleepy');
    await waitHeartbeats(() => hosts.b.serialLog('sleepy'), 2, { afterSeq: seq });
    await hosts.b.ok('destroy', 'sleepy');
  });

  it("offline --copy-storage-all copies a shut-off VM's disk to the pool of the same name, verified", async () => {
    await hosts.a.ok('vol-create-as', 'testvms', 'cold.qcow2', '64M', '--format', 'qcow2');
    const src = `${poolDir('a', 'testvms')}/cold.qcow2`;
    qemuIo(src, 'qcow2', 'write -P 0xab 0 8M');
    qemuIo(src, 'qcow2', 'write -P 0xcd 32M 4M');
    await hosts.a.ok('define', xmlFile('cold', guestXml({ name: 'cold', disks: diskXml('testvms', 'cold.qcow2') })));
    const r = await hosts.a.ferry('migrate', '--offline', '--persistent', '--copy-storage-all', '--verbose', 'cold', hosts.bPeer);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Migration: \[100 %\]\n$/);
    const dst = `${poolDir('b', 'testvms')}/cold.qcow2`;
    assert.ok(existsSync(dst));
    assert.equal(sameImages(src, dst), true, 'identical guest-visible contents');
    assert.match(await hosts.b.ok('list', '--all'), / -    cold +shut off/);
    await hosts.b.ok('start', 'cold');
    await waitHeartbeats(() => hosts.b.serialLog('cold'), 2);
    await hosts.b.ok('destroy', 'cold');
  });

  it('a pool missing on the destination fails before anything is copied', async () => {
    await hosts.a.ok('pool-define-as', '--name', 'onlyA', '--type', 'dir', '--target', poolDir('a', 'onlyA'));
    await hosts.a.ok('pool-start', 'onlyA', '--build');
    await hosts.a.ok('vol-create-as', 'onlyA', 'lonely.qcow2', '64M', '--format', 'qcow2');
    await hosts.a.ok('define', xmlFile('lonely', guestXml({ name: 'lonely', disks: diskXml('onlyA', 'lonely.qcow2') })));
    const r = await hosts.a.ferry('migrate', '--offline', '--persistent', '--copy-storage-all', 'lonely', hosts.bPeer);
    assert.equal(r.code, 1);
    assert.match(r.stderr, / Storage +fail +vda: storage pool 'onlyA' does not exist on \S+\n/);
    assert.match(r.stderr, /Storage: Define and start pool 'onlyA' on \S+ with the same target as on the source/);
    assert.match(r.stderr, /error: pre-flight checks failed: Storage\n/);
    assert.equal((await hosts.b.ferry('dominfo', 'lonely')).code, 1, 'nothing defined on B');
  });

  it('a pool too small on the destination fails before anything is copied, and leaves nothing there', async () => {
    const tiny = poolDir('b', 'tiny');
    mkdirSync(tiny, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', tiny]);
    await hosts.b.ok('pool-define-as', '--name', 'tiny', '--type', 'dir', '--target', tiny);
    await hosts.b.ok('pool-start', 'tiny');
    await hosts.a.ok('pool-define-as', '--name', 'tiny', '--type', 'dir', '--target', poolDir('a', 'tiny'));
    await hosts.a.ok('pool-start', 'tiny', '--build');
    await hosts.a.ok('vol-create-as', 'tiny', 'big.qcow2', '64M', '--format', 'qcow2');
    qemuIo(`${poolDir('a', 'tiny')}/big.qcow2`, 'qcow2', 'write -P 0x11 0 16M');
    await hosts.a.ok('define', xmlFile('big', guestXml({ name: 'big', disks: diskXml('tiny', 'big.qcow2') })));
    const r = await hosts.a.ferry('migrate', '--offline', '--persistent', '--copy-storage-all', 'big', hosts.bPeer);
    assert.equal(r.code, 1);
    assert.match(r.stderr, / Storage +fail +pool 'tiny' on \S+ has [\d.]+ \w+ free, the copied disks need [\d.]+ MiB\n/);
    assert.match(r.stderr, /error: pre-flight checks failed: Storage\n/);
    assert.equal(existsSync(`${tiny}/big.qcow2`), false);
    assert.equal((await hosts.b.ferry('dominfo', 'big')).code, 1);
  });

  it('live --copy-storage-all between separate pools while the guest writes: identical disks at the switch', async () => {
    await hosts.a.ok('vol-create-as', 'testvms', 'mover.qcow2', '64M', '--format', 'qcow2');
    await hosts.a.ok(
      'define',
      xmlFile(
        'mover',
        guestXml({
          name: 'mover',
          memoryMiB: 256,
          touchMiB: 32,
          dirtyMiBs: 4,
          disks: diskXml('testvms', 'mover.qcow2'),
          extraCmdline: 'ferry.disk=/dev/vda ferry.diskmb=16 ferry.diskrate=2 ferry.diskscrub=8',
        }),
      ),
    );
    await hosts.a.ok('start', 'mover');
    await eventually(() => (parseHeartbeats(hosts.a.serialLog('mover')).at(-1)?.diskWritten ?? 0) > 200, 'the guest writes its disk', 40_000);
    const r = await hosts.a.ferry('migrate', '--live', '--persistent', '--copy-storage-all', '--suspend', '--verbose', 'mover', hosts.bPeer);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await hosts.b.state('mover'), 'paused (user)');
    const src = `${poolDir('a', 'testvms')}/mover.qcow2`;
    const dst = `${poolDir('b', 'testvms')}/mover.qcow2`;
    assert.equal(sameImages(src, dst), true, 'the destination disk equals the source disk at the switch');
    assert.match(await hosts.b.ok('domjobinfo', 'mover', '--completed'), /File total: +64\.\d+ MiB/);
    await hosts.b.ok('resume', 'mover');
    // The guest checks every block it wrote: a full scrub pass of its 16 MiB on B, begun after the switch.
    await assertIntactAfterSwitch(
      () => hosts.a.serialLog('mover'),
      () => hosts.b.serialLog('mover'),
      { disk: true },
    );
    assert.equal(guestCorrupted(hosts.serial('mover')), false);
    await hosts.b.ok('destroy', 'mover');
  });

  it('an aborted live storage copy leaves the VM on its original disk and nothing on the destination', async () => {
    await hosts.a.ok('vol-create-as', 'testvms', 'abortme.qcow2', '64M', '--format', 'qcow2');
    const src = `${poolDir('a', 'testvms')}/abortme.qcow2`;
    qemuIo(src, 'qcow2', 'write -P 0x5a 0 48M');
    await hosts.a.ok('define', xmlFile('abortme', guestXml({ name: 'abortme', disks: diskXml('testvms', 'abortme.qcow2') })));
    await hosts.a.ok('start', 'abortme');
    await waitHeartbeats(() => hosts.a.serialLog('abortme'), 2);
    const uuid = (await hosts.a.ok('domuuid', 'abortme')).trim();
    const migrating = hosts.a.ferry('migrate', '--live', '--copy-storage-all', '--bandwidth', '8', 'abortme', hosts.bPeer);
    await eventually(async () => /File processed/.test(await hosts.a.ok('domjobinfo', 'abortme')), 'the disk is being copied');
    assert.ok(existsSync(`${poolDir('b', 'testvms')}/abortme.qcow2`), 'the copy is under way on B');
    await hosts.a.ok('domjobabort', 'abortme');
    const r = await migrating;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /canceled by client/);
    assert.match(await hosts.a.state('abortme'), /^running/);
    assert.match(await hosts.a.ok('domblklist', 'abortme'), / vda +testvms\/abortme.qcow2/);
    await eventually(() => !existsSync(`${poolDir('b', 'testvms')}/abortme.qcow2`), 'the partial copy on B is removed');
    await eventually(() => pidsMatching(`${hosts.b.stateDir}/run/${uuid}`).length === 0, 'no QEMU left on B');
    assert.equal((await hosts.b.ferry('dominfo', 'abortme')).code, 1);
    await hosts.a.ok('destroy', 'abortme');
  });

  it("blockcopy moves a running VM's disk to another pool (--pivot) while the guest writes; --finish and --abort too", async () => {
    await hosts.a.ok('pool-define-as', '--name', 'p2', '--type', 'dir', '--target', poolDir('a', 'p2'));
    await hosts.a.ok('pool-start', 'p2', '--build');
    await hosts.a.ok('vol-create-as', 'testvms', 'copyme.qcow2', '64M', '--format', 'qcow2');
    await hosts.a.ok(
      'define',
      xmlFile(
        'copyme',
        guestXml({
          name: 'copyme',
          disks: diskXml('testvms', 'copyme.qcow2'),
          extraCmdline: 'ferry.disk=/dev/vda ferry.diskmb=16 ferry.diskrate=2 ferry.diskscrub=8',
        }),
      ),
    );
    await hosts.a.ok('start', 'copyme');
    await eventually(() => (parseHeartbeats(hosts.a.serialLog('copyme')).at(-1)?.diskWritten ?? 0) > 100, 'the guest writes its disk', 40_000);

    // --finish: a consistent copy, the guest stays on its disk.
    const fin = await hosts.a.ferry('blockcopy', 'copyme', 'vda', `${hosts.dir.path}/snapshot-copy.qcow2`, '--finish');
    assert.equal(fin.code, 0, fin.stderr);
    assert.match(fin.stdout, /Successfully copied/);
    assert.match(await hosts.a.ok('domblklist', 'copyme'), / vda +testvms\/copyme.qcow2/);
    execFileSync('qemu-img', ['check', '-q', `${hosts.dir.path}/snapshot-copy.qcow2`]);

    // --abort: the copy goes away.
    await hosts.a.ok('blockcopy', 'copyme', 'vda', `${hosts.dir.path}/abandoned.qcow2`, '--bandwidth', '1');
    assert.match(await hosts.a.ok('blockjob', 'copyme', 'vda', '--info'), /^Block Copy: \[ *\d+ %\]/);
    await hosts.a.ok('blockjob', 'copyme', 'vda', '--abort');
    assert.equal(existsSync(`${hosts.dir.path}/abandoned.qcow2`), false);
    assert.equal(await hosts.a.ok('blockjob', 'copyme', 'vda'), 'No current block job for vda\n\n');

    // --pivot: the guest now runs on the copy in p2; its definitions follow.
    const piv = await hosts.a.ferry('blockcopy', 'copyme', 'vda', '--pool', 'p2', '--wait', '--verbose', '--pivot');
    assert.equal(piv.code, 0, piv.stderr);
    assert.match(piv.stderr, /Block Copy: \[100 %\]/);
    assert.match(piv.stdout, /Successfully pivoted/);
    assert.match(await hosts.a.ok('domblklist', 'copyme'), / vda +p2\/copyme.qcow2/);
    assert.match(await hosts.a.ok('dumpxml', 'copyme', '--inactive'), /<source pool='p2' volume='copyme.qcow2'\/>/);
    // A full scrub of the disk region begun after the pivot (the next heartbeat may have been made before it).
    await waitFullScrub(() => hosts.a.serialLog('copyme'), { afterSeq: lastSeq(hosts.a.serialLog('copyme')) + 1, disk: true });
    assert.equal(guestCorrupted(hosts.a.serialLog('copyme')), false);
    // And a live migration still finds the disk after the pivot.
    await hosts.b.ok('pool-define-as', '--name', 'p2', '--type', 'dir', '--target', poolDir('b', 'p2'));
    await hosts.b.ok('pool-start', 'p2', '--build');
    const m = await hosts.a.ferry('migrate', '--live', '--copy-storage-all', 'copyme', hosts.bPeer);
    assert.equal(m.code, 0, m.stderr);
    assert.ok(existsSync(`${poolDir('b', 'p2')}/copyme.qcow2`));
    await hosts.b.ok('destroy', 'copyme');
  });

  it('--migrate-disks copies only the named disks; the others must be shared', async () => {
    await hosts.a.ok('vol-create-as', 'testvms', 'two-a.qcow2', '32M', '--format', 'qcow2');
    await hosts.a.ok('vol-create-as', 'shared', 'two-b.qcow2', '32M', '--format', 'qcow2');
    const disks = diskXml('testvms', 'two-a.qcow2') + diskXml('shared', 'two-b.qcow2').replace("dev='vda'", "dev='vdb'");
    await hosts.a.ok('define', xmlFile('two', guestXml({ name: 'two', disks })));
    await hosts.a.ok('start', 'two');
    await waitHeartbeats(() => hosts.a.serialLog('two'), 2);
    const bad = await hosts.a.ferry('migrate', '--live', '--copy-storage-all', '--migrate-disks', 'vdz', 'two', hosts.bPeer);
    assert.match(bad.stderr, /disk 'vdz' given in --migrate-disks is not a disk of domain 'two'/);
    const r = await hosts.a.ferry('migrate', '--live', '--copy-storage-inc', '--migrate-disks', 'vda', 'two', hosts.bPeer);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(`${poolDir('b', 'testvms')}/two-a.qcow2`), 'vda was copied');
    assert.equal(existsSync(`${poolDir('b', 'testvms')}/two-b.qcow2`), false, 'vdb stays on the shared pool');
    assert.match(await hosts.b.ok('domblklist', 'two'), / vda +testvms\/two-a.qcow2\n vdb +shared\/two-b.qcow2/);
    await hosts.b.ok('destroy', 'two');
  });
});
