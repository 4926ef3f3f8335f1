import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { EventStream } from '../helpers/event-stream.js';
import { guestXml } from '../helpers/guest.js';
import { guestCorrupted, parseHeartbeats, waitHeartbeats } from '../helpers/heartbeat.js';
import { killLeftovers } from '../helpers/leftovers.js';
import { eventually, pidsMatching } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

/**
 * migrate --timeout-suspend and --abort-on-error on real QEMU. A guest that
 * dirties memory faster than the bandwidth allows never converges: --timeout
 * alone gives up, --timeout-suspend pauses it so the copy completes. A guest
 * whose disk runs out of space during the migration pauses with an I/O
 * error: --abort-on-error cancels the migration.
 */
describe('migrate --timeout-suspend and --abort-on-error', () => {
  const hosts = new TwoHosts();
  const full = `${hosts.dir.path}/small-fs`;
  let mounted = false;

  before(async () => {
    await hosts.start();
  });
  after(async () => {
    await hosts.stop().catch(() => undefined);
    killLeftovers(hosts.dir.path);
    if (mounted) execFileSync('umount', ['-l', full]);
    rmSync(hosts.dir.path, { recursive: true, force: true });
  });

  const uuidOf = async (name: string): Promise<string> => (await hosts.a.ok('domuuid', name)).trim();

  it('--timeout alone aborts a migration that cannot converge; --timeout-suspend pauses the guest at the timeout and the migration completes', async () => {
    await hosts.bootOnA({ name: 'busy', memoryMiB: 256, touchMiB: 64, dirtyMiBs: 64, hbMs: 100 });
    const uuid = await uuidOf('busy');
    // 64 MiB/s of dirtied memory over an 8 MiB/s link: pre-copy never ends by itself.
    const abort = await hosts.a.ferry('migrate', '--live', '--bandwidth', '8', '--timeout', '2', 'busy', hosts.bPeer);
    assert.equal(abort.code, 1);
    assert.match(abort.stderr, /migration did not complete within --timeout 2 s; the domain keeps running on the source/);
    assert.match(await hosts.a.state('busy'), /^running/);
    await eventually(() => pidsMatching(`${hosts.b.stateDir}/run/${uuid}`).length === 0, 'B is clean');

    const events = await new EventStream(hosts.a.socket).start();
    const r = await hosts.a.ferry(
      'migrate',
      '--live',
      '--persistent',
      '--undefinesource',
      '--bandwidth',
      '8',
      '--timeout',
      '2',
      '--timeout-suspend',
      'busy',
      hosts.bPeer,
    );
    events.stop();
    assert.equal(r.code, 0, r.stderr);
    // ferry paused the guest while QEMU was still in pre-copy ('active'), at or after the timeout, and the copy went on.
    const perform = events.of('migration.phase', (e) => e.to === 'Perform')[0];
    const paused = events.of('domain.lifecycle', (e) => e.name === 'busy' && e.state === 'paused')[0];
    assert.ok(perform && paused, 'Perform and the pause are both in the event stream');
    assert.equal(paused.reason, 'migrating');
    assert.ok(paused.at - perform.at >= 2000, 'not before --timeout');
    const copying = events.of('migration.progress', (e) => e.at > paused.at && (e.job as { status?: string }).status === 'active');
    assert.ok(copying.length > 0, "pre-copy still ran after the pause: the pause came from --timeout-suspend, not from QEMU's switch-over");
    // The guest runs again on B (it ran before the migration), with its memory intact.
    assert.equal(await hosts.b.state('busy'), 'running (migrated)');
    assert.equal(pidsMatching(`${hosts.a.stateDir}/run/${uuid}`).length, 0);
    const seq = Math.max(-1, ...parseHeartbeats(hosts.serial('busy')).map((b) => b.seq));
    await waitHeartbeats(() => hosts.b.serialLog('busy'), 3, { afterSeq: seq });
    assert.equal(guestCorrupted(hosts.serial('busy')), false);
    await hosts.b.ok('destroy', 'busy');
  });

  it('--abort-on-error: the disk fills up during the migration, the guest pauses on the I/O error, the migration is cancelled', async () => {
    // A small filesystem of its own for the disk (tmpfs), so the test can fill it.
    mkdirSync(full, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', full]);
    mounted = true;
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', `${full}/ioerr.qcow2`, '32M']);
    const xml = guestXml({
      name: 'ioerr',
      memoryMiB: 256,
      touchMiB: 64,
      dirtyMiBs: 32,
      hbMs: 100,
      disks: `<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source file='${full}/ioerr.qcow2'/><target dev='vda' bus='virtio'/></disk>`,
      extraCmdline: 'ferry.disk=/dev/vda ferry.diskmb=16 ferry.diskrate=2 ferry.diskscrub=8',
    });
    writeFileSync(`${hosts.dir.path}/ioerr.xml`, xml);
    await hosts.a.ok('define', `${hosts.dir.path}/ioerr.xml`);
    await hosts.a.ok('start', 'ioerr');
    await eventually(() => (parseHeartbeats(hosts.a.serialLog('ioerr')).at(-1)?.diskWritten ?? 0) > 0, 'the guest writes its disk', 60_000);
    const uuid = await uuidOf('ioerr');
    // An internal snapshot shares every cluster: from now on each guest write allocates a new one.
    await hosts.a.ok(
      'qemu-monitor-command',
      'ioerr',
      JSON.stringify({ execute: 'blockdev-snapshot-internal-sync', arguments: { device: 'fmt-vda', name: 'before-migration' } }),
    );

    // --policy manual: under auto, 32 MiB/s dirtied over 8 would go post-copy at once; the I/O error must come in pre-copy.
    const migrating = hosts.a.ferry('migrate', '--live', '--abort-on-error', '--bandwidth', '8', '--policy', 'manual', 'ioerr', hosts.bPeer);
    await eventually(async () => /Data processed: +[1-9]/.test((await hosts.a.ferry('domjobinfo', 'ioerr')).stdout), 'memory is on its way');
    // The filesystem fills up: the guest's next write fails with ENOSPC and QEMU pauses it (werror=enospc).
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${full}/filler`, 'bs=64k', 'status=none']);
    } catch {
      // dd stops when the filesystem is full: that is the point
    }
    assert.equal(Number(statfsSync(full).bavail), 0, 'the filesystem is full');
    const r = await migrating;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: operation aborted: migration out: the domain hit an I\/O error and --abort-on-error was given/);
    await eventually(() => pidsMatching(`${hosts.b.stateDir}/run/${uuid}`).length === 0, 'B is clean');
    assert.equal((await hosts.b.ferry('dominfo', 'ioerr')).code, 1, 'no definition on B');
    // Still on A; the disk is still full, so the guest stays paused on its I/O error (a resume retries the write).
    await hosts.a.waitState('ioerr', 'paused (I/O error)');

    // Room again: resume retries the failed write and the guest carries on with an intact disk.
    rmSync(`${full}/filler`);
    await hosts.a.ok('resume', 'ioerr');
    const seq = Math.max(...parseHeartbeats(hosts.a.serialLog('ioerr')).map((b) => b.seq));
    const beats = await waitHeartbeats(() => hosts.a.serialLog('ioerr'), 3, { afterSeq: seq });
    assert.ok((beats.at(-1)?.diskWritten ?? 0) > 0);
    assert.equal(beats.at(-1)?.diskErrors, 0);
    assert.equal(guestCorrupted(hosts.a.serialLog('ioerr')), false);
    await hosts.a.ok('destroy', 'ioerr');
  });
});
