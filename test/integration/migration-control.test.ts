import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { guestCorrupted, waitHeartbeats } from '../helpers/heartbeat.js';
import { eventually, pidsMatching } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

type ApiEvent = Record<string, unknown>;

/** Collects the API's server-sent events until `enough(events)` holds; fails after the timeout. */
function collectEvents(socket: string, enough: (events: ApiEvent[]) => boolean, timeoutMs = 30_000): Promise<ApiEvent[]> {
  return new Promise((resolve, reject) => {
    const events: ApiEvent[] = [];
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`after ${timeoutMs} ms the condition still does not hold for these events: ${JSON.stringify(events).slice(0, 2000)}`));
    }, timeoutMs);
    const req = http.get({ socketPath: socket, path: '/v1/events' }, (res) => {
      let buf = '';
      res.on('data', (c) => {
        buf += c;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const data = buf
            .slice(0, i)
            .split('\n')
            .find((l) => l.startsWith('data: '));
          buf = buf.slice(i + 2);
          if (data) events.push(JSON.parse(data.slice(6)));
        }
        if (enough(events)) {
          clearTimeout(timer);
          req.destroy();
          resolve(events);
        }
      });
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Job control from other ferry invocations while a migration runs. */
describe('migration job control', () => {
  const hosts = new TwoHosts();
  before(async () => {
    await hosts.start();
    await hosts.bootOnA({ name: 'ctl', memoryMiB: 256, touchMiB: 32, dirtyMiBs: 32, hbMs: 100 });
  });
  after(async () => {
    await hosts.stop();
  });

  it('migrate-setspeed / migrate-getspeed and the downtime work before any migration', async () => {
    assert.equal(await hosts.a.ok('migrate-getspeed', 'ctl'), '8796093022207\n\n', 'unlimited by default, as libvirt');
    await hosts.a.ok('migrate-setspeed', 'ctl', '100');
    assert.equal(await hosts.a.ok('migrate-getspeed', 'ctl'), '100\n\n');
    await hosts.a.ok('migrate-setspeed', 'ctl', '--bandwidth', '0');
    assert.equal(await hosts.a.ok('migrate-getspeed', 'ctl'), '8796093022207\n\n');
    assert.equal(await hosts.a.ok('migrate-getmaxdowntime', 'ctl'), '300\n\n');
    const none = await hosts.a.ok('domjobinfo', 'ctl');
    assert.equal(none, 'Job type:         None\n\n');
  });

  it('domjobinfo, set/get speed and downtime apply live; progress events flow; migrate-postcopy finishes it', async () => {
    const migrating = hosts.a.ferry('migrate', '--live', '--postcopy', '--bandwidth', '4', '--verbose', 'ctl', hosts.bPeer);
    const isProgress = (e: ApiEvent): boolean => e.type === 'migration.progress' && e.name === 'ctl';
    const events = collectEvents(hosts.a.socket, (evs) => evs.filter(isProgress).length >= 3);
    await eventually(async () => /Data processed/.test(await hosts.a.ok('domjobinfo', 'ctl')), 'domjobinfo shows transfer statistics');
    const info = await hosts.a.ok('domjobinfo', 'ctl');
    for (const field of [
      'Job type: +Unbounded',
      'Operation: +Outgoing migration',
      'Time elapsed: +\\d+ +ms',
      'Data processed: +[\\d.]+ \\w+',
      'Data remaining: +[\\d.]+ \\w+',
      'Data total: +[\\d.]+ \\w+',
      'Memory bandwidth: +[\\d.]+ \\w+/s',
      'Dirty rate: +\\d+ +pages/s',
      'Iteration: +\\d+',
      'Expected downtime: +\\d+ +ms',
    ]) {
      assert.match(info, new RegExp(field), field);
    }
    assert.equal(await hosts.a.ok('migrate-getspeed', 'ctl'), '4\n\n');
    await hosts.a.ok('migrate-setspeed', 'ctl', '6');
    assert.equal(await hosts.a.ok('migrate-getspeed', 'ctl'), '6\n\n');
    const params = JSON.parse(await hosts.a.ok('qemu-monitor-command', 'ctl', '{"execute":"query-migrate-parameters"}'));
    assert.equal(params.return['max-bandwidth'], 6 * 1024 * 1024, 'applied to QEMU while migrating');
    await hosts.a.ok('migrate-setmaxdowntime', 'ctl', '500');
    assert.equal(await hosts.a.ok('migrate-getmaxdowntime', 'ctl'), '500\n\n');
    const progress = (await events).filter(isProgress);
    assert.ok(typeof (progress.at(-1)?.job as { percent: number }).percent === 'number');
    assert.equal(hosts.b.serialLog('ctl'), '', 'nothing runs on B yet');

    await hosts.a.ok('migrate-postcopy', 'ctl');
    const r = await migrating;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Migration: \[100 %\]/);
    assert.equal(await hosts.b.state('ctl'), 'running (post-copy)');
    await waitHeartbeats(() => hosts.b.serialLog('ctl'), 3);
    assert.equal(guestCorrupted(hosts.serial('ctl')), false);
    assert.equal(await hosts.a.state('ctl'), 'shut off (migrated)');
  });

  it('during a migration, its async job mask refuses reboot and suspend at once with a hint; domjobinfo and list still work', async () => {
    const uuid = (await hosts.b.ok('domuuid', 'ctl')).trim();
    // --policy manual: under auto, ctl (32 MiB/s dirtied over a 4 MiB/s link) would go post-copy at once, and this needs the pre-copy.
    const migrating = hosts.b.ferry('migrate', '--live', '--bandwidth', '4', '--policy', 'manual', 'ctl', hosts.aPeer);
    await eventually(async () => /Data processed/.test(await hosts.b.ok('domjobinfo', 'ctl')), 'the migration is transferring');
    for (const verb of ['reboot', 'suspend']) {
      const r = await hosts.b.ferry(verb, 'ctl');
      assert.notEqual(r.code, 0, `${verb} is refused`);
      const refused = `cannot acquire state change lock \\(held by migration out\\): ${verb} is not allowed while it runs \\(allowed: query, abort, destroy, `;
      assert.match(r.stderr, new RegExp(`error: Requested operation is not valid: ${refused}`));
      assert.match(r.stderr, /hint: Another job holds this domain; wait for it \("ferry domjobinfo <domain>"\) or abort it \("ferry domjobabort <domain>"\)/);
      assert.match(r.stderr, /\[OPERATION_IN_PROGRESS\]/);
    }
    assert.match(await hosts.b.ok('domjobinfo', 'ctl'), /Operation: +Outgoing migration/, 'a query is allowed beside the migration');
    assert.match(await hosts.b.ok('list'), / ctl +running/, 'neither refused verb paused the guest');
    await hosts.b.ok('domjobabort', 'ctl');
    assert.equal((await migrating).code, 1);
    await eventually(() => pidsMatching(`${hosts.a.stateDir}/run/${uuid}`).length === 0, 'no QEMU left on A');
  });

  it('domjobabort from another invocation cancels the migration; the VM keeps running and the destination is clean', async () => {
    const uuid = (await hosts.b.ok('domuuid', 'ctl')).trim();
    // --policy manual: under auto, ctl (32 MiB/s dirtied over a 4 MiB/s link) would go post-copy at once, and this needs the pre-copy.
    const migrating = hosts.b.ferry('migrate', '--live', '--bandwidth', '4', '--policy', 'manual', 'ctl', hosts.aPeer);
    await eventually(async () => /Data processed/.test(await hosts.b.ok('domjobinfo', 'ctl')), 'the migration is transferring');
    assert.equal(await hosts.b.ok('domjobabort', 'ctl'), '');
    const r = await migrating;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: operation aborted: migration out: canceled by client\nhint: .*\[MIG_CANCELLED\]/);
    assert.equal(await hosts.b.state('ctl'), 'running (migration canceled)');
    assert.match(await hosts.a.ok('list', '--all'), / -    ctl +shut off/, 'A keeps only its own shut-off definition');
    await eventually(() => pidsMatching(`${hosts.a.stateDir}/run/${uuid}`).length === 0, 'no QEMU left on A');
    const seq = Number(/seq=(\d+)/.exec(hosts.b.serialLog('ctl').split('\n').filter(Boolean).at(-1) ?? '')?.[1]);
    await waitHeartbeats(() => hosts.b.serialLog('ctl'), 3, { afterSeq: seq });
    const done = await hosts.b.ok('domjobinfo', 'ctl', '--completed');
    assert.match(done, /Job type: +Cancelled|Phase: +Cancelled/);
    const abortAgain = await hosts.b.ferry('domjobabort', 'ctl');
    assert.match(abortAgain.stderr, /no job is active on the domain/);
  });

  it('the downtime schedule: 50 ms first, a step up for each pass that does not converge; back to 300 ms after an abort', async () => {
    // ctl dirties 32 MiB/s and the link carries 16: after the first pass every pass leaves as much to send.
    // --policy manual: the ramp alone (auto would give up at the first stall, which no ramp step can fit: docs/policies.md).
    const migrating = hosts.b.ferry('migrate', '--live', '--bandwidth', '16', '--policy', 'manual', 'ctl', hosts.aPeer);
    await eventually(async () => /Data processed/.test(await hosts.b.ok('domjobinfo', 'ctl')), 'the migration is transferring');
    assert.equal(await hosts.b.ok('migrate-getmaxdowntime', 'ctl'), '50\n\n', 'a live migration starts with a 50 ms limit');
    await eventually(async () => (await hosts.b.ok('migrate-getmaxdowntime', 'ctl')) === '100\n\n', 'a stalled pass raised it to 100 ms', 30_000);
    await hosts.b.ok('domjobabort', 'ctl');
    assert.equal((await migrating).code, 1);
    assert.equal(await hosts.b.ok('migrate-getmaxdowntime', 'ctl'), '300\n\n', "the domain's own limit again");
  });
});
