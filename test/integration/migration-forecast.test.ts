import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MigrationHistoryEntry } from '../../src/shared/api-types.js';
import type { MigrationForecast } from '../../src/shared/migration-forecast.js';
import { eventually } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

const MiB = 1024 * 1024;
/** The guest rewrites its memory at this rate (ferry-load's ferry.dirty). */
const DIRTY_MIBS = 32;

type Report = { results: Array<{ outcome: string }>; forecast: MigrationForecast | null };

/** The forecast of a live migration, on real QEMUs: the dirty rate QEMU measures, the table, and the record beside the outcome. */
describe('migration forecast', () => {
  const hosts = new TwoHosts();
  before(async () => {
    await hosts.start();
    await hosts.bootOnA({ name: 'fc', memoryMiB: 256, touchMiB: 128, dirtyMiBs: DIRTY_MIBS, hbMs: 100 });
  });
  after(async () => {
    await hosts.stop();
  });

  it('migrate-check measures the dirty rate the guest makes (calc-dirty-rate, page sampling under TCG)', async () => {
    const r = JSON.parse(await hosts.a.ok('migrate-check', 'fc', hosts.bPeer, '--json', '--dirty-rate-window', '1000')) as Report;
    const f = r.forecast;
    assert.ok(f, 'a running domain has a forecast');
    assert.equal(f.inputs.dirtyRateSource, 'measured', JSON.stringify(f.inputs));
    assert.equal(f.inputs.dirtyRate?.mode, 'page-sampling');
    const measured = f.inputs.dirtyBytesPerSec / MiB;
    // Page sampling is a statistic (1024 pages of a 256 MiB guest) and the guest dirties only as fast as its vCPU runs.
    assert.ok(measured > DIRTY_MIBS * 0.5 && measured < DIRTY_MIBS * 1.5, `measured ${measured} MiB/s for a guest dirtying ${DIRTY_MIBS} MiB/s`);
    // The resident guest RAM: the 128 MiB the guest touched and its kernel, no more than its RAM.
    assert.equal(f.inputs.firstPassSource, 'resident-memory');
    assert.ok(f.inputs.firstPassBytes >= 128 * MiB && f.inputs.firstPassBytes <= 256 * MiB, String(f.inputs.firstPassBytes / MiB));
  });

  it('migrate --dry-run prints the forecast after the checks: a cap below the dirty rate never converges', async () => {
    const out = await hosts.a.ok('migrate', '--live', '--dry-run', '--bandwidth', '16', 'fc', hosts.bPeer);
    assert.match(out, /Check +Result +Reason/);
    assert.match(out, /\nForecast:\n {2}Expected total time: +never finishes by itself/);
    assert.match(out, /\n {2}Converges: +no: from pass \d+ each pass leaves about as much as the one before\n/);
    assert.match(out, /\n {2}Link: +16 MiB\/s \(the --bandwidth cap\)\n/);
    assert.match(out, /\n {2}Dirty rate: +[\d.]+ MiB\/s \(measured by QEMU, page-sampling over \d+ ms\)\n/);
  });

  it('a migration records its forecast beside what happened (migrate-history)', async () => {
    const check = JSON.parse(await hosts.a.ok('migrate-check', 'fc', hosts.bPeer, '--json')) as Report;
    assert.equal(check.forecast?.converges, true, 'uncapped, the guest converges');
    await hosts.a.ok('migrate', '--live', 'fc', hosts.bPeer);
    // Perform does not wait for the measurement: the forecast is recorded when it is done, maybe after the migration.
    let m: MigrationHistoryEntry | undefined;
    await eventually(async () => {
      [m] = JSON.parse(await hosts.a.ok('migrate-history', 'fc', '--json')) as MigrationHistoryEntry[];
      return m?.forecast !== null && m?.forecast !== undefined;
    }, 'the forecast recorded beside the outcome');
    assert.ok(m?.forecast, JSON.stringify(m));
    assert.equal(m.forecast.predicted.converges, true);
    assert.equal(m.forecast.actual.converged, true);
    assert.ok(m.forecast.predicted.passes >= 1 && (m.forecast.actual.passes ?? 0) >= 1);
    assert.equal(typeof m.forecast.actual.totalSeconds, 'number');
    const details = await hosts.a.ok('migrate-history', '--id', m.id);
    assert.match(details, /Forecast: +converges in [\d.]+ s, \d+ pass(es)?, downtime \d+ ms; actual: converged in [\d.]+ s/);
  });

  it('Under a policy that does not plan from it, Perform does not wait for the measurement: a 60 s window is cut short by the migration, which is recorded unmeasured', async () => {
    // (auto waits for it before Prepare: docs/policies.md.)
    await hosts.b.ok('migrate', '--live', '--policy', 'minimal-downtime', '--dirty-rate-window', '60000', 'fc', hosts.aPeer);
    assert.equal(await hosts.a.state('fc'), 'running (migrated)');
    let m: MigrationHistoryEntry | undefined;
    await eventually(async () => {
      [m] = JSON.parse(await hosts.b.ok('migrate-history', 'fc', '--limit', '1', '--json')) as MigrationHistoryEntry[];
      return Boolean(m?.forecast);
    }, 'the forecast recorded once the source QEMU is gone');
    // Had Perform waited for the window, the rate would have been measured.
    assert.equal(m?.forecast?.predicted.inputs.dirtyRateSource, 'not-measured', JSON.stringify(m?.forecast));
    assert.equal(m?.outcome, 'Succeeded');
  });
});
