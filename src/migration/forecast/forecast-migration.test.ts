import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MigrationHistoryEntry } from '../../shared/api-types.js';
import { defaultMigrationOptions, UNLIMITED_BANDWIDTH_MIBS } from '../options.js';
import type { MigrationOptions } from '../../shared/migration-options-schema.js';
import { ASSUMED_LINK_BYTES_PER_SEC, forecastMigration, type ForecastRequest } from './forecast-migration.js';
import { throttleFactors } from './forecast-model.js';
import { residentFromSmaps } from './guest-resident.js';

const MiB = 1024 * 1024;
const DEST = 'ferry+tcp://127.0.0.1:1/system';

function request(o: Partial<MigrationOptions>, extra: Partial<ForecastRequest> = {}): ForecastRequest {
  return {
    uuid: 'u1',
    destUri: DEST,
    options: { ...defaultMigrationOptions(), live: true, ...o },
    guestRamBytes: 1024 * MiB,
    settings: { bandwidthMiBs: UNLIMITED_BANDWIDTH_MIBS, downtimeMs: 300 },
    measureDirtyRate: () => Promise.resolve({ bytesPerSec: 150 * MiB, mode: 'page-sampling', windowMs: 503, samplePages: 4096 }),
    residentBytes: () => 512 * MiB,
    history: () => [],
    ...extra,
  };
}

function entry(e: Partial<MigrationHistoryEntry>): MigrationHistoryEntry {
  return {
    id: 'm1',
    side: 'source',
    name: 'vm',
    uuid: 'u1',
    peer: DEST,
    outcome: 'Succeeded',
    error: null,
    options: {},
    startedAt: 1,
    endedAt: 2,
    totalMs: 1,
    bytes: null,
    diskBytes: null,
    downtimeMs: null,
    phases: [],
    stats: null,
    forecast: null,
    ...e,
  };
}

describe('forecastMigration()', () => {
  it('150 MiB/s over a --bandwidth 100 cap: the cap is the link, it never converges, and post-copy runs uncapped', async () => {
    const f = await forecastMigration(request({ bandwidth: 100, postcopy: true, timeout: 30 }));
    assert.equal(f.inputs.linkSource, 'bandwidth-cap');
    assert.equal(f.inputs.linkBytesPerSec, 100 * MiB);
    assert.equal(f.inputs.postcopyLinkBytesPerSec, ASSUMED_LINK_BYTES_PER_SEC);
    const capped = await forecastMigration(request({ bandwidth: 100, postcopy: true, postcopyBandwidth: 20 }));
    assert.equal(capped.inputs.postcopyLinkBytesPerSec, 20 * MiB, '--postcopy-bandwidth caps post-copy');
    assert.equal(f.inputs.dirtyRateSource, 'measured');
    assert.deepEqual(f.inputs.dirtyRate, { mode: 'page-sampling', windowMs: 503, samplePages: 4096 });
    assert.deepEqual(f.inputs.downtimeLimitMs, [50, 100, 150, 200, 300]);
    assert.equal(f.converges, false);
    assert.equal(f.downtimeMs, undefined);
    assert.equal(f.firstStall, 2);
    assert.ok(f.totalSeconds <= 30);
    // 512 MiB at 100 MiB/s, then the 512 MiB left at 1 GiB/s.
    assert.ok(Math.abs((f.postcopy?.totalSeconds ?? 0) - (5.12 + 0.5)) < 1e-9);
  });

  it('an uncapped link comes from the last uncapped migration to the same destination, else it is assumed', async () => {
    const history = [
      entry({ id: 'capped', startedAt: 30, options: { bandwidth: 10 }, stats: { dataProcessed: 10 * MiB, qemuTotalTimeMs: 1000 } }),
      entry({ id: 'elsewhere', startedAt: 20, peer: 'ferry+tcp://other/system', stats: { dataProcessed: 999 * MiB, qemuTotalTimeMs: 1000 } }),
      entry({ id: 'good', startedAt: 10, stats: { dataProcessed: 400 * MiB, qemuTotalTimeMs: 1100, setupTimeMs: 100 } }),
    ];
    const f = await forecastMigration(request({}, { history: () => history }));
    assert.equal(f.inputs.linkSource, 'previous-migration');
    assert.equal(f.inputs.previousMigrationId, 'good');
    assert.equal(f.inputs.linkBytesPerSec, 400 * MiB);
    assert.equal(f.inputs.linkSamples, 1);
    const g = await forecastMigration(request({}));
    assert.equal(g.inputs.linkSource, 'assumed');
    assert.equal(g.inputs.linkBytesPerSec, ASSUMED_LINK_BYTES_PER_SEC);
    assert.equal(g.converges, true);
  });

  it("the link is the median of the last five uncapped migrations to the destination, and QEMU's setup time is added", async () => {
    const rates = [400, 1700, 420, 380, 410, 90]; // MiB/s, newest first: one outlier each way, and a sixth not counted
    const history = rates.map((r, i) =>
      entry({ id: `m${i}`, startedAt: 100 - i, stats: { dataProcessed: r * MiB, qemuTotalTimeMs: 1000 + 300 + i * 10, setupTimeMs: 300 + i * 10 } }),
    );
    const f = await forecastMigration(request({}, { history: () => history, measureDirtyRate: undefined }));
    assert.equal(f.inputs.linkSource, 'previous-migration');
    assert.equal(f.inputs.linkBytesPerSec, 410 * MiB, 'the median of 400, 1700, 420, 380, 410');
    assert.equal(f.inputs.linkSamples, 5);
    assert.equal(f.inputs.previousMigrationId, 'm0', 'the newest of them');
    assert.ok(Math.abs((f.inputs.setupSeconds ?? 0) - 0.32) < 1e-9, 'the median of 300..340 ms');
    // Not measured, the guest dirties nothing: one pass of the first-pass bytes at 410 MiB/s, after the setup.
    const transfer = f.inputs.firstPassBytes / (410 * MiB);
    assert.ok(Math.abs(f.totalSeconds - (0.32 + transfer + (f.downtimeMs ?? 0) / 1000)) < 1e-6, `total ${f.totalSeconds}`);
    const none = await forecastMigration(request({}));
    assert.equal(none.inputs.setupSeconds, undefined, 'no earlier migration: no setup time known');
  });

  it("the first pass: QEMU's resident guest RAM, else what the last migration sent, else all the RAM", async () => {
    const history = [entry({ id: 'last', side: 'destination', stats: { normalData: 300 * MiB } })];
    assert.equal((await forecastMigration(request({}))).inputs.firstPassSource, 'resident-memory');
    const h = await forecastMigration(request({}, { residentBytes: () => undefined, history: () => history }));
    assert.deepEqual([h.inputs.firstPassSource, h.inputs.firstPassBytes], ['previous-migration', 300 * MiB]);
    const r = await forecastMigration(request({}, { residentBytes: () => undefined }));
    assert.deepEqual([r.inputs.firstPassSource, r.inputs.firstPassBytes], ['guest-ram', 1024 * MiB]);
  });

  it('a reading that could change the plan (at least 45 % of the link) is confirmed by a second window, and the lower counts', async () => {
    const readings = [40, 5];
    let calls = 0;
    const measureDirtyRate = () => Promise.resolve({ bytesPerSec: (readings[calls++] ?? 0) * MiB, mode: 'page-sampling' as const, windowMs: 100 });
    const burst = await forecastMigration(request({ bandwidth: 16 }, { measureDirtyRate }));
    assert.equal(calls, 2);
    assert.equal(burst.inputs.dirtyBytesPerSec, 5 * MiB, 'a burst in one window does not count');
    calls = 0;
    readings.splice(0, 2, 150, 140);
    assert.equal((await forecastMigration(request({ bandwidth: 100 }, { measureDirtyRate }))).inputs.dirtyBytesPerSec, 140 * MiB);
    calls = 0;
    readings.splice(0, 2, 7, 99);
    assert.equal((await forecastMigration(request({ bandwidth: 16 }, { measureDirtyRate }))).inputs.dirtyBytesPerSec, 7 * MiB);
    assert.equal(calls, 1, 'a reading well under the link is taken as it is');
    calls = 0;
    readings.splice(0, 2, 40, 5);
    assert.equal((await forecastMigration(request({ bandwidth: 16, postcopy: true }, { measureDirtyRate }))).inputs.dirtyBytesPerSec, 40 * MiB);
    assert.equal(calls, 1, 'virsh flags alone (manual): nothing plans from the reading, one window');
  });

  it('a failed measurement is reported, not thrown, and the rate is taken as 0', async () => {
    const f = await forecastMigration(request({}, { measureDirtyRate: () => Promise.reject(new Error('QEMU went away')) }));
    assert.equal(f.inputs.dirtyRateSource, 'not-measured');
    assert.equal(f.inputs.dirtyRateError, 'QEMU went away');
    assert.equal(f.converges, true);
  });

  it('without --live the guest is paused: nothing measured, one pass, and the whole copy is downtime', async () => {
    let measured = false;
    const f = await forecastMigration(
      request(
        { live: false, bandwidth: 100 },
        {
          measureDirtyRate: () => {
            measured = true;
            return Promise.reject(new Error('unreachable'));
          },
        },
      ),
    );
    assert.equal(measured, false);
    assert.equal(f.inputs.dirtyRateSource, 'paused');
    assert.equal(f.passes, 1);
    assert.ok(Math.abs((f.downtimeMs ?? 0) - 5120) < 1e-6);
  });

  it('--auto-converge throttles from the third pass and makes the capped case converge', async () => {
    assert.deepEqual(throttleFactors({ initial: 70, increment: 20 }), [1, 1, 0.30000000000000004, 0.09999999999999998, 0.010000000000000009]);
    const f = await forecastMigration(request({ bandwidth: 100, autoConverge: true, autoConvergeInitial: 70, autoConvergeIncrement: 20 }));
    assert.equal(f.converges, true);
    assert.ok(f.passes >= 3);
  });
});

describe('residentFromSmaps()', () => {
  const smaps = [
    '7f0000000000-7f0010000000 rw-p 00000000 00:00 0 ',
    'Size:             262144 kB',
    'Rss:               65536 kB',
    '7f1000000000-7f1040000000 rwxp 00000000 00:00 0 ',
    'Rss:                2048 kB',
    '7f2000000000-7f2004000000 rw-p 00000000 00:00 0 ',
    'Rss:               10000 kB',
    '7f3000000000-7f3010000000 rw-s 00000000 00:01 7 /memfd:pc.ram (deleted)',
    'Rss:                1024 kB',
    '',
  ].join('\n');

  it("sums the guest RAM mappings' Rss, leaving out the TCG code buffer and small heaps", () => {
    assert.equal(residentFromSmaps(smaps, 512 * MiB), (65536 + 1024) * 1024);
  });

  it('is bounded by the guest RAM and undefined when no mapping fits', () => {
    assert.equal(residentFromSmaps(smaps, 256 * MiB), (65536 + 1024) * 1024);
    assert.equal(residentFromSmaps('', 256 * MiB), undefined);
  });
});
