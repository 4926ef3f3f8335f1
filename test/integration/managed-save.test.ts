import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml, REPO_ROOT } from '../helpers/guest.js';
import { lastSeq, parseHeartbeats, waitHeartbeats } from '../helpers/heartbeat.js';
import { qemuPidsOf } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

const UUID = '6d3c1f7e-2b1a-4c55-9e0f-3a7b5c9d1e42';

/** virsh managedsave on real QEMU: the guest's state to a file, QEMU gone, and the same guest back at start. */
describe('managed save on real QEMU (and ferry-guests ON_SHUTDOWN=suspend)', () => {
  const dir = tempDir('ferry-msave-');
  const host = new FerrydHost({ dir: `${dir.path}/a` });
  const xml = join(dir.path, 'ms1.xml');
  const image = (): string => join(host.stateDir, 'save', `${UUID}.save`);
  // packaging/libexec/ferry-guests (the host shutdown policy) with ON_SHUTDOWN=suspend, against this ferryd.
  const ferryGuests = (verb: 'stop' | 'start'): Promise<string> =>
    new Promise((resolve, reject) => {
      writeFileSync(join(dir.path, 'guests.conf'), 'ON_SHUTDOWN=suspend\nON_BOOT=start\n');
      execFile(
        'bash',
        [join(REPO_ROOT, 'packaging/libexec/ferry-guests'), verb],
        {
          env: {
            ...process.env,
            FERRY_CLI: join(REPO_ROOT, 'bin/ferry'),
            FERRY_DEFAULT_URI: host.uri,
            FERRY_GUESTS_CONF: join(dir.path, 'guests.conf'),
            FERRY_GUESTS_STATE: join(dir.path, 'guests.state'),
          },
        },
        (err, stdout, stderr) => (err ? reject(new Error(`ferry-guests ${verb}: ${stderr}${stdout}`)) : resolve(stdout)),
      );
    });
  const managedSaveLine = async (): Promise<string> => (/^Managed save: +(\S+)$/m.exec(await host.ok('dominfo', 'ms1')) ?? [])[1] ?? '';

  before(async () => {
    writeFileSync(xml, guestXml({ name: 'ms1', uuid: UUID, hbMs: 100 }));
    await host.start();
  });
  after(async () => {
    await host.ferry('destroy', 'ms1');
    await host.stopAll();
    dir.cleanup();
  });

  it('managedsave stops QEMU with the state kept; start brings the same guest back; undefine needs --managed-save', async () => {
    await host.ok('define', xml);
    await host.ok('start', 'ms1');
    await waitHeartbeats(() => host.serialLog('ms1'), 2);
    assert.equal(qemuPidsOf(host.stateDir, UUID).length, 1);
    assert.equal(await managedSaveLine(), 'no');

    // The host's shutdown policy saves it (ferry managedsave), with no fallback to a shutdown.
    assert.equal(await ferryGuests('stop'), `ferry-guests: saving ${UUID}\n`);
    const beforeSave = host.serialLog('ms1');
    const savedAt = lastSeq(beforeSave);
    assert.deepEqual(qemuPidsOf(host.stateDir, UUID), [], 'QEMU is gone');
    assert.equal(await host.state('ms1'), 'shut off (saved)');
    assert.equal(await managedSaveLine(), 'yes');
    assert.match(await host.ok('list', '--all', '--managed-save'), / -    ms1    saved\n/);
    assert.equal(await host.ok('list', '--all', '--with-managed-save', '--name'), 'ms1\n\n');
    assert.equal(await host.ok('list', '--all', '--without-managed-save', '--name'), '\n');
    const st = statSync(image());
    assert.deepEqual([st.uid, st.mode & 0o777], [0, 0o600], "the image is root's alone");
    assert.ok(st.size > 1024 * 1024, `the image holds the guest's memory (${st.size} bytes)`);

    // As virsh: the image is not orphaned by undefine.
    const refused = await host.ferry('undefine', 'ms1');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /Refusing to undefine while domain managed save image exists\nhint: .*--managed-save.*\[MANAGED_SAVE_EXISTS\]/);

    // At boot the policy starts it again: the start restores the image.
    assert.equal(await ferryGuests('start'), `ferry-guests: starting ${UUID}\n`);
    assert.equal(await host.state('ms1'), 'running (restored)');
    await waitHeartbeats(() => host.serialLog('ms1'), 2, { afterSeq: savedAt });
    // The same guest runs on: what it writes after the restore continues its heartbeat count where it stopped
    // (a boot would print the kernel's and init's lines and count from 0 again).
    const log = host.serialLog('ms1');
    assert.ok(log.startsWith(beforeSave), 'the serial log goes on after what the guest wrote before the save');
    const since = log.slice(beforeSave.length);
    assert.equal(parseHeartbeats(since)[0]?.seq, savedAt + 1, `the first heartbeat after the restore follows the last one before it:\n${since.slice(0, 400)}`);
    assert.match(beforeSave, /ferry-load: ready /, "a boot prints ferry-load's ready line");
    assert.doesNotMatch(since, /ferry-load: ready |Linux version/, 'no boot after the restore');
    assert.equal(existsSync(image()), false, 'the image is removed after the restore');
    assert.equal(await managedSaveLine(), 'no');
    assert.equal(await host.ok('managedsave-remove', 'ms1'), "Domain 'ms1' has no manage save image; removal skipped\n\n");

    // A transient domain (here: undefined while it runs) has nowhere to come back from.
    await host.ok('undefine', 'ms1');
    const transient = await host.ferry('managedsave', 'ms1');
    assert.equal(transient.code, 1);
    assert.match(transient.stderr, /cannot do managed save for transient domain/);
    assert.equal(await host.state('ms1'), 'running (restored)');

    // Persistent again; saved paused; undefine --managed-save takes the image with the definition.
    await host.ok('define', xml);
    assert.equal(await host.ok('managedsave', 'ms1', '--paused'), "\nDomain 'ms1' state saved by ferry\n\n");
    assert.equal(await host.state('ms1'), 'shut off (saved)');
    assert.equal(existsSync(image()), true);
    await host.ok('undefine', 'ms1', '--managed-save');
    assert.equal(existsSync(image()), false);
    assert.equal((await host.ferry('dominfo', 'ms1')).code, 1, 'the domain is gone');
  });
});
