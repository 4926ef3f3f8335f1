import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { guestXml } from '../helpers/guest.js';
import { waitHeartbeats } from '../helpers/heartbeat.js';
import { killLeftovers } from '../helpers/leftovers.js';
import { row } from '../helpers/preflight-table.js';
import { pidsMatching } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

/**
 * The pre-flight checks that need a destination QEMU of another build (the
 * machine type and the CPU model) or a QEMU that refuses to migrate (a
 * blocker QEMU itself reports), made to fail for real, and `migrate --dry-run`:
 * the table, its exit status, and nothing moved. B runs QEMU 10.0 through a
 * wrapper that hides the pc-q35-10.0 machine type and the Nehalem CPU model
 * from it, as a distribution's build that ships other machine types would.
 */
describe('pre-flight failures: machine type, CPU model, QEMU blockers; migrate --dry-run', () => {
  const hosts = new TwoHosts();
  const wrapper = `${hosts.dir.path}/qemu-other-build`;
  const vvfat = `${hosts.dir.path}/vvfat`;
  let uuid = '';

  before(async () => {
    writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        '# QEMU 10.0 without the pc-q35-10.0 machine type and the Nehalem CPU model (what a build with other machine types offers)',
        'case "$*" in',
        "  '-machine help') qemu-system-x86_64 -machine help | grep -v -e '^pc-q35-10\\.0 ' -e '^q35 '; exit 0 ;;",
        "  '-cpu help') qemu-system-x86_64 -cpu help | grep -v -e '^  Nehalem '; exit 0 ;;",
        'esac',
        'exec qemu-system-x86_64 "$@"',
        '',
      ].join('\n'),
    );
    chmodSync(wrapper, 0o755);
    await hosts.start({ extraConfigB: `qemu_binary = "${wrapper}"` });
    const xml = guestXml({ name: 'pf', hbMs: 200 }).replace(
      '<devices>',
      "<cpu mode='custom' match='exact'><model fallback='forbid'>Nehalem</model></cpu>\n  <devices>",
    );
    writeFileSync(`${hosts.dir.path}/pf.xml`, xml);
    await hosts.a.ok('define', `${hosts.dir.path}/pf.xml`);
    await hosts.a.ok('start', 'pf');
    await waitHeartbeats(() => hosts.a.serialLog('pf'), 1, { timeoutMs: 90_000 });
    uuid = (await hosts.a.ok('domuuid', 'pf')).trim();
    mkdirSync(vvfat, { recursive: true });
  });
  after(async () => {
    await hosts.stop().catch(() => undefined);
    killLeftovers(hosts.dir.path);
  });

  /** Nothing reached B: no QEMU (the kernel's process list), no definition; the VM still runs on A. */
  async function nothingMoved(): Promise<void> {
    assert.equal(pidsMatching(`${hosts.b.stateDir}/run/${uuid}`).length, 0, 'no QEMU on B');
    assert.equal((await hosts.b.ok('list', '--all', '--name')).trim(), '', 'no definition on B');
    assert.match(await hosts.a.state('pf'), /^running/);
    assert.match((await hosts.a.ferry('domjobinfo', 'pf', '--completed')).stdout, /^Job type: +None/m, 'no migration ran');
  }

  it("the machine type and the CPU model B's QEMU lacks, and a blocker in A's QEMU: reported together, with their fixes; migrate refuses", async () => {
    // A block node QEMU cannot migrate (vvfat read-write), added through the monitor: QEMU now reports a blocker.
    await hosts.a.ok(
      'qemu-monitor-command',
      'pf',
      JSON.stringify({ execute: 'blockdev-add', arguments: { driver: 'vvfat', 'node-name': 'no-migrate', dir: vvfat, rw: true } }),
    );
    const check = await hosts.a.ferry('migrate-check', 'pf', hosts.bPeer);
    assert.equal(check.code, 1);
    const machine = row(check.stdout, 'Machine type');
    assert.equal(machine.outcome, 'fail');
    assert.match(machine.reason, /^machine type 'pc-q35-10\.0' is not supported by QEMU 10\.0\.\d+ on \S+$/);
    assert.deepEqual(row(check.stdout, 'CPU').outcome, 'fail');
    assert.match(row(check.stdout, 'CPU').reason, /^CPU model 'Nehalem' is not supported by QEMU on \S+$/);
    const blockers = row(check.stdout, 'QEMU migration blockers');
    assert.equal(blockers.outcome, 'fail');
    assert.match(blockers.reason, /^QEMU refuses to migrate: .*The vvfat \(rw\) format used by node 'no-migrate' does not support live migration/);
    assert.match(check.stdout, /How to fix:\n(.*\n)*  Machine type: Use a machine type both QEMUs know/);
    assert.match(check.stdout, /  CPU: Choose a CPU model both hosts support/);
    assert.match(check.stdout, /  QEMU migration blockers: Remove the device or feature QEMU names/);
    // Everything else passes: only these three are B's build and A's blocker.
    for (const line of check.stdout.split('\n').filter((l) => / fail /.test(l) && /^ \S/.test(l))) {
      assert.match(line, /^ (Machine type|CPU|QEMU migration blockers) /, line);
    }

    const m = await hosts.a.ferry('migrate', '--live', '--persistent', 'pf', hosts.bPeer);
    assert.equal(m.code, 1);
    assert.match(m.stderr, /error: pre-flight checks failed: Machine type, CPU, QEMU migration blockers\n/);
    await nothingMoved();
    // --unsafe lifts none of them: B's QEMU could not even start this machine or CPU, and QEMU refuses the blocker itself.
    const unsafe = await hosts.a.ferry('migrate', '--live', '--unsafe', 'pf', hosts.bPeer);
    assert.equal(unsafe.code, 1);
    assert.match(unsafe.stderr, /error: pre-flight checks failed: Machine type, CPU, QEMU migration blockers\n/);
    await nothingMoved();
  });

  it('migrate --dry-run prints the same table and exits 1 when a check fails; nothing moves', async () => {
    const r = await hosts.a.ferry('migrate', '--dry-run', '--live', 'pf', hosts.bPeer);
    assert.equal(r.code, 1);
    assert.equal(row(r.stdout, 'QEMU migration blockers').outcome, 'fail');
    assert.equal(row(r.stdout, 'Machine type').outcome, 'fail');
    await nothingMoved();
    // The blocker goes with its node: QEMU's live state, asked each time.
    await hosts.a.ok('qemu-monitor-command', 'pf', JSON.stringify({ execute: 'blockdev-del', arguments: { 'node-name': 'no-migrate' } }));
    assert.equal(row((await hosts.a.ferry('migrate-check', 'pf', hosts.bPeer)).stdout, 'QEMU migration blockers').outcome, 'pass');
  });

  it("migrate --dry-run with B's own QEMU build: every check passes, exit 0, and still nothing moves", async () => {
    writeFileSync(`${hosts.dir.path}/b.conf`, '');
    await hosts.b.restart();
    const r = await hosts.a.ferry('migrate', '--dry-run', '--live', 'pf', hosts.bPeer);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(row(r.stdout, 'Machine type').reason, /pc-q35-10\.0 is supported/);
    assert.match(row(r.stdout, 'CPU').reason, /^model Nehalem runs exactly under TCG$/);
    for (const line of r.stdout
      .split('\n')
      .slice(2)
      .filter((l) => /^ \S/.test(l)))
      assert.match(line, / (pass|warn) /, line);
    await nothingMoved();
  });
});
