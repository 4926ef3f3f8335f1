import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { qemuPidsOf } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
/** qemu-io's check that the first 4 KiB of an image (through its backing) hold `byte`, read beside the running QEMU (-U). */
const peek = (image: string, byte: number): string =>
  execFileSync('qemu-io', ['-U', '-r', '-f', 'qcow2', '-c', `read -P ${byte} 0 4k`, image], { encoding: 'utf8' });

/**
 * <transient/> on real QEMU: each start puts a fresh qcow2 overlay (in the domain's run directory)
 * over the image; the guest's writes (here qemu-io through the monitor) go into it, the image is never
 * written, the overlay is gone at destroy and the next start sees the image as it was. A live
 * migration is refused (MIG_UNSUPPORTED_DEVICE), as libvirt refuses it.
 */
describe('transient disks (<transient/>, <transient shareBacking=yes/>): an overlay per run, the image never written', () => {
  const dir = tempDir('ferry-transient-');
  const host = new FerrydHost({ dir: `${dir.path}/a` });
  const name = 'transient';
  const raw = `${dir.path}/base.raw`;
  const qcow = `${dir.path}/base.qcow2`;
  let uuid = '';
  const before_: Record<string, string> = {};
  const overlay = (dev: string): string => `${host.stateDir}/run/${uuid}/transient-${dev}.qcow2`;
  const hmp = async (line: string): Promise<string> =>
    (
      JSON.parse(await host.ok('qemu-monitor-command', name, JSON.stringify({ execute: 'human-monitor-command', arguments: { 'command-line': line } }))) as {
        return: string;
      }
    ).return;

  before(async () => {
    await host.start();
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', raw, '4M']);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', qcow, '4M']);
    before_.raw = sha(raw);
    before_.qcow = sha(qcow);
    writeFileSync(
      `${dir.path}/${name}.xml`,
      guestXml({
        name,
        type: 'qemu',
        disks: `<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/><source file='${raw}'/><target dev='vdb' bus='virtio'/><transient/></disk>
        <disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source file='${qcow}'/><target dev='vdc' bus='virtio'/><transient shareBacking='yes'/></disk>`,
      }),
    );
    await host.ok('define', `${dir.path}/${name}.xml`);
  });
  after(async () => {
    await host.ferry('destroy', name); // a QEMU outlives ferryd: stop it even when a test failed half-way
    await host.stopAll();
    dir.cleanup();
  });

  it('starts each disk on an overlay over its image; writes land in the overlay', async () => {
    const xml = await host.ok('dumpxml', name);
    assert.match(xml, /<transient\/>/);
    assert.match(xml, /<transient shareBacking='yes'\/>/);
    uuid = /<uuid>([^<]+)<\/uuid>/.exec(xml)?.[1] as string;
    await host.ok('start', name);
    const [pid] = qemuPidsOf(host.stateDir, uuid);
    assert.ok(pid);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    for (const dev of ['vdb', 'vdc']) {
      assert.ok(
        argv.some((a) => a.startsWith(`{"driver":"file","filename":"${overlay(dev)}","node-name":"file-${dev}"`)),
        argv.join(' '),
      );
      assert.ok(
        argv.some((a) => a.startsWith(`{"driver":"qcow2","file":"file-${dev}","node-name":"fmt-${dev}"`)),
        `${dev}: the overlay is qcow2`,
      );
    }
    const blocks = (
      JSON.parse(await host.ok('qemu-monitor-command', name, '{"execute":"query-block"}')) as {
        return: Array<{ qdev?: string; inserted?: { image: { filename: string; 'backing-image'?: { filename: string; format: string } } } }>;
      }
    ).return;
    const image = (dev: string): { filename: string; 'backing-image'?: { filename: string; format: string } } | undefined =>
      blocks.find((b) => b.qdev?.includes(`disk-${dev}`))?.inserted?.image;
    assert.equal(image('vdb')?.filename, overlay('vdb'));
    assert.deepEqual([image('vdb')?.['backing-image']?.filename, image('vdb')?.['backing-image']?.format], [raw, 'raw']);
    assert.deepEqual([image('vdc')?.['backing-image']?.filename, image('vdc')?.['backing-image']?.format], [qcow, 'qcow2']);

    for (const dev of ['vdb', 'vdc']) {
      // Through the disk's own device (its BlockBackend), as the guest writes; then flushed, so the overlay's qcow2 metadata is on disk.
      const via = `qemu-io -d /machine/peripheral/disk-${dev}/virtio-backend`;
      assert.equal(await hmp(`${via} "write -P 0x5a 0 4k"`), '');
      assert.equal(await hmp(`${via} "flush"`), '');
      assert.match(peek(overlay(dev), 0x5a), /read 4096\/4096 bytes/, `${dev}: the write is in the overlay`);
    }
    assert.equal(sha(raw), before_.raw, 'the raw image is unchanged');
    assert.equal(sha(qcow), before_.qcow, 'the qcow2 image is unchanged');
  });

  it('a live migration and a block copy are refused with coded errors, as libvirt refuses them', async () => {
    const r = await host.ferry('migrate', '--live', name, 'ferry+tcp://127.0.0.1:9/system');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /migration with transient disk 'vdb' is not supported/);
    assert.match(r.stderr, /MIG_UNSUPPORTED_DEVICE/);
    // Nor may a block job move its data elsewhere (libvirt: "block jobs are not supported on transient disks").
    const b = await host.ferry('blockcopy', name, 'vdc', `${dir.path}/copy.qcow2`);
    assert.notEqual(b.code, 0);
    assert.match(b.stderr, /block jobs are not supported on transient disks/);
  });

  it('destroy discards the overlays; the next start sees the image as it was', async () => {
    await host.ok('destroy', name);
    assert.equal(existsSync(overlay('vdb')), false);
    assert.equal(existsSync(overlay('vdc')), false);
    assert.equal(sha(raw), before_.raw);
    assert.equal(sha(qcow), before_.qcow);
    await host.ok('start', name);
    for (const dev of ['vdb', 'vdc']) assert.match(peek(overlay(dev), 0), /read 4096\/4096 bytes/, `${dev}: the write of the last run is gone`);
    await host.ok('destroy', name);
  });
});
