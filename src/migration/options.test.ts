import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { defaultMigrationOptions, migrationTuning, UNLIMITED_BANDWIDTH_MIBS } from './options.js';
import type { MigrationOptions } from '../shared/migration-options-schema.js';

const current = { bandwidthMiBs: UNLIMITED_BANDWIDTH_MIBS, downtimeMs: 300 };
const tune = (o: Partial<MigrationOptions>) => migrationTuning({ ...defaultMigrationOptions(), live: true, ...o }, current);

describe('migrationTuning()', () => {
  it("uses two multifd channels by default, unlimited bandwidth, and the downtime schedule up to the domain's limit", () => {
    const t = tune({});
    assert.equal(t.multifd, true);
    assert.deepEqual(t.capabilities, {
      events: true,
      'pause-before-switchover': false,
      multifd: true,
      xbzrle: false,
      'auto-converge': false,
      'postcopy-ram': false,
    });
    assert.deepEqual(t.sharedParameters, { 'multifd-channels': 2, 'multifd-compression': 'none' });
    assert.equal(t.sourceParameters['max-bandwidth'], Number.MAX_SAFE_INTEGER);
    assert.equal(t.sourceParameters['downtime-limit'], 50, "the schedule's first step");
    assert.equal(t.downtimeSteps?.at(-1), 300);
  });

  it('falls back to one channel for post-copy and xbzrle, which QEMU cannot combine with multifd', () => {
    assert.equal(tune({ postcopy: true }).multifd, false);
    assert.equal(tune({ postcopy: true }).capabilities['postcopy-ram'], true);
    const x = tune({ compressed: true });
    assert.deepEqual([x.multifd, x.capabilities.xbzrle], [false, true]);
    assert.throws(
      () => tune({ postcopy: true, parallel: true }),
      (e: unknown) => e instanceof FerryError && e.code === 'INVALID_ARGUMENT',
    );
  });

  it('maps zlib/zstd onto multifd compression and the bandwidth onto bytes', () => {
    const z = tune({ compressed: true, compMethods: ['zstd'], parallelConnections: 4, bandwidth: 100, autoConverge: true, autoConvergeInitial: 50 });
    assert.deepEqual(z.sharedParameters, { 'multifd-channels': 4, 'multifd-compression': 'zstd' });
    assert.equal(z.sourceParameters['max-bandwidth'], 100 * 1024 * 1024);
    assert.equal(z.sourceParameters['cpu-throttle-initial'], 50);
    assert.throws(() => tune({ compressed: true, compMethods: ['zlib'], postcopy: true }), /need parallel/);
    assert.throws(() => tune({ autoConvergeInitial: 50 }), /need --auto-converge/);
  });

  it("maps --postcopy-bandwidth onto QEMU's max-postcopy-bandwidth (0: not capped), and leaves it alone without the flag", () => {
    assert.equal(tune({ postcopy: true, postcopyBandwidth: 16 }).sourceParameters['max-postcopy-bandwidth'], 16 * 1024 * 1024);
    assert.equal(tune({ postcopy: true, postcopyBandwidth: 0 }).sourceParameters['max-postcopy-bandwidth'], 0);
    assert.equal('max-postcopy-bandwidth' in tune({ postcopy: true }).sourceParameters, false);
  });
});
