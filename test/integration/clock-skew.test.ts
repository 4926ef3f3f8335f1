import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { MigrationHistoryEntry } from '../../src/shared/api-types.js';
import type { FerrydHost } from '../helpers/ferryd.js';
import { assertIntactAfterSwitch, guestCorrupted, waitHeartbeats } from '../helpers/heartbeat.js';
import { killLeftovers } from '../helpers/leftovers.js';
import { pidsMatching } from '../helpers/processes.js';
import { bootSharedDiskGuest } from '../helpers/shared-disk-guest.js';
import { TwoHosts } from '../helpers/two-hosts.js';

/** libfaketime (Debian's faketime package): the preloaded library that moves a process's wall clock. */
const FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const SKEW_S = 300;

/**
 * The fault matrix's clock fault (issue 16, docs/reliability.md): host B's clock runs 5 minutes ahead. B's ferryd,
 * and every QEMU and helper it starts, see that wall clock (libfaketime; the monotonic clock stays true, as an NTP
 * step leaves it). ferry's pre-flight must name the offset and refuse, and a migration the operator lets through
 * (--unsafe) must keep every invariant in both directions, with each host's records in its own clock's terms.
 */
describe('a host whose clock is 5 minutes off', () => {
  const hosts = new TwoHosts();
  const name = 'skew';
  let uuid = '';

  before(async () => {
    assert.ok(existsSync(FAKETIME_LIB), `${FAKETIME_LIB} is missing: apt-get install faketime (scripts/setup.sh installs it)`);
    await hosts.start({ launcherB: ['env', `FAKETIME=+${SKEW_S}s`, 'DONT_FAKE_MONOTONIC=1', `LD_PRELOAD=${FAKETIME_LIB}`] });
    uuid = await bootSharedDiskGuest(hosts, {
      name,
      memoryMiB: 192,
      touchMiB: 64,
      dirtyMiBs: 8,
      hbMs: 100,
      extraCmdline: 'ferry.disk=/dev/vda ferry.diskmb=8 ferry.diskrate=1 ferry.diskscrub=4',
      diskMiB: 32,
    });
  });
  after(async () => {
    await hosts.stop({ keep: true }).catch(() => undefined);
    killLeftovers(hosts.dir.path);
    hosts.dir.cleanup();
  });

  const qemuOn = (h: FerrydHost): number[] => {
    const qemu = new Set(pidsMatching('qemu-system'));
    return pidsMatching(`${h.stateDir}/run/${uuid}`).filter((p) => qemu.has(p));
  };
  const defined = async (h: FerrydHost): Promise<boolean> => (await h.ok('list', '--all', '--name')).split('\n').includes(name);

  it("B's ferryd really reads a clock 5 minutes ahead (its log's timestamps)", async () => {
    const before = Date.now();
    await hosts.b.ok('list', '--all');
    const times = [...hosts.b.logTail(200).matchAll(/"time":(\d+)/g)].map((m) => Number(m[1]));
    const last = Math.max(...times);
    assert.ok(last - before > (SKEW_S - 30) * 1000 && last - before < (SKEW_S + 30) * 1000, `B's clock reads ${Math.round((last - before) / 1000)} s ahead`);
  });

  it('pre-flight names the offset and refuses the migration; nothing moves', async () => {
    const r = await hosts.a.ferry('migrate', '--live', '--persistent', '--undefinesource', name, hosts.bPeer);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\[MIG_PREFLIGHT_FAILED\]/);
    assert.match(r.stderr, /offset \+(29\d|30\d)\d{3} ms \(±\d+ ms\) against .*, more than 500 ms/);
    assert.match(r.stderr, /Sync both hosts to the same NTP or PTP servers/);
    assert.match(await hosts.a.state(name), /^running/);
    assert.equal(await defined(hosts.b), false);
    assert.deepEqual(qemuOn(hosts.b), []);
  });

  for (const [from, to, label] of [
    ['a', 'b', 'into the host whose clock is ahead'],
    ['b', 'a', 'out of it'],
  ] as const) {
    it(`with --unsafe, a live migration ${label} keeps every invariant, and each host's history is in its own clock`, async () => {
      const src = hosts[from];
      const dst = hosts[to];
      const srcLog = () => src.serialLog(name);
      const dstFrom = dst.serialLog(name).length;
      const dstLog = () => dst.serialLog(name).slice(dstFrom);
      const started = Date.now();
      const r = await src.ferry('migrate', '--live', '--unsafe', '--persistent', '--undefinesource', name, to === 'b' ? hosts.bPeer : hosts.aPeer);
      const took = Date.now() - started;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^warning: offset [+-]\d+ ms .* \(allowed by --unsafe\)/m);
      // Exactly one host runs it, with its disk lease; the other is clean; one definition.
      assert.match(await dst.state(name), /^running/);
      assert.equal(qemuOn(dst).length, 1);
      assert.deepEqual(qemuOn(src), []);
      assert.equal(await defined(src), false);
      assert.match(await dst.ok('lock-list'), new RegExp(` exclusive +${name} +vda `));
      assert.doesNotMatch(await src.ok('lock-list'), new RegExp(` ${name} `));
      await assertIntactAfterSwitch(srcLog, dstLog, { disk: true, timeoutMs: 90_000 });
      assert.equal(guestCorrupted(dstLog()), false);
      // Each side's record: durations from its own clock, never negative or minutes long; times in its own frame.
      // Newest first: this migration is the first of its side on each host.
      const [out] = (JSON.parse(await src.ok('migrate-history', name, '--json')) as MigrationHistoryEntry[]).filter((m) => m.side === 'source');
      const [inc] = (JSON.parse(await dst.ok('migrate-history', name, '--json')) as MigrationHistoryEntry[]).filter((m) => m.side === 'destination');
      assert.ok(out && inc);
      assert.equal(out.id, inc.id);
      assert.equal(out.outcome, 'Succeeded');
      assert.equal(inc.outcome, 'Succeeded');
      for (const m of [out, inc]) assert.ok(m.totalMs >= 0 && m.totalMs <= took + 1000, `${m.side}: totalMs ${m.totalMs}, the CLI waited ${took} ms`);
      const skewOf = (h: FerrydHost): number => (h === hosts.b ? SKEW_S * 1000 : 0);
      for (const [m, h] of [
        [out, src],
        [inc, dst],
      ] as const) {
        const offset = m.startedAt - started - skewOf(h);
        assert.ok(Math.abs(offset) < 30_000, `${m.side}'s startedAt is ${Math.round(offset / 1000)} s off its host's clock`);
      }
      await waitHeartbeats(dstLog, 3, { timeoutMs: 30_000 });
    });
  }
});
