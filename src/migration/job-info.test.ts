import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jobInfoFromQemu, progressPercent } from './job-info.js';

describe('jobInfoFromQemu()', () => {
  const ram = {
    transferred: 300,
    remaining: 100,
    total: 400,
    duplicate: 5,
    normal: 70,
    'normal-bytes': 280,
    'dirty-pages-rate': 12,
    mbps: 80,
    'dirty-sync-count': 3,
    'postcopy-requests': 0,
    'page-size': 4096,
  };

  it("turns query-migrate into libvirt's job statistics", () => {
    const j = jobInfoFromQemu(
      { status: 'active', 'expected-downtime': 20, 'setup-time': 4, ram },
      { operation: 'Outgoing migration', phase: 'Perform', startedAt: 1000, now: 1500 },
    );
    assert.deepEqual(
      [j.type, j.timeElapsedMs, j.dataProcessed, j.dataRemaining, j.dataTotal, j.memoryBandwidth, j.dirtyRate, j.iteration, j.expectedDowntimeMs, j.percent],
      ['Unbounded', 500, 300, 100, 400, 10_000_000, 12, 3, 20, 75],
    );
  });

  it('reports the real downtime once completed, and 100 %', () => {
    const j = jobInfoFromQemu({ status: 'completed', downtime: 33, 'total-time': 900, ram }, { operation: 'Outgoing migration', startedAt: 0, now: 1000 });
    assert.deepEqual([j.type, j.downtimeMs, j.qemuTotalTimeMs, j.percent], ['Completed', 33, 900, 100]);
    assert.equal(progressPercent({ status: 'active', ram: { ...ram, remaining: 0 } }), 99, 'never 100 before completion');
  });
});
