import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DowntimeSchedule } from './downtime-schedule.js';
import { downtimeSteps, migrationTuning, defaultMigrationOptions } from './options.js';

const MiB = 1024 * 1024;

describe('DowntimeSchedule', () => {
  it('keeps the short limit while each pass leaves less to send (a guest that dirties little)', () => {
    const s = new DowntimeSchedule([50, 100, 150, 200, 300]);
    const raised = [
      [1, 512 * MiB],
      [1, 400 * MiB],
      [2, 40 * MiB],
      [3, 8 * MiB],
      [4, 2 * MiB],
      [5, MiB],
    ].map(([p, r]) => s.observe(p as number, r as number));
    assert.deepEqual(
      raised.filter((x) => x !== undefined),
      [],
    );
    assert.equal(s.limit, 50);
  });

  it('raises one step per stalled pass, up to the last step, and no further', () => {
    const s = new DowntimeSchedule([50, 100, 150, 200, 300]);
    const seen = [1, 2, 3, 4, 5, 6, 7, 8].map((pass) => s.observe(pass, pass === 1 ? 512 * MiB : 60 * MiB));
    assert.deepEqual(seen, [undefined, undefined, 100, 150, 200, 300, undefined, undefined]);
    assert.equal(s.limit, 300);
  });

  it('counts a pass once, however many samples fall in it, and a pass that shrank by more than 10 % is progress', () => {
    const s = new DowntimeSchedule([50, 100]);
    assert.equal(s.observe(2, 100 * MiB), undefined);
    assert.equal(s.observe(2, 10 * MiB), undefined, 'a later sample of the same pass');
    assert.equal(s.observe(3, 89 * MiB), undefined, '89 % of the pass before: converging');
    assert.equal(s.observe(4, 85 * MiB), 100, '96 %: stalled');
  });
});

describe('downtime steps in the migration tuning', () => {
  it("a live migration follows the schedule up to the domain's limit; an explicit limit or a non-live one is fixed", () => {
    const live = { ...defaultMigrationOptions(), live: true };
    assert.deepEqual(downtimeSteps(300), [50, 100, 150, 200, 300]);
    assert.deepEqual(downtimeSteps(120), [50, 100, 120]);
    const scheduled = migrationTuning(live, { bandwidthMiBs: 100, downtimeMs: 300 });
    assert.deepEqual(scheduled.downtimeSteps, [50, 100, 150, 200, 300]);
    assert.equal(scheduled.sourceParameters['downtime-limit'], 50);
    const pinned = migrationTuning(live, { bandwidthMiBs: 100, downtimeMs: 500, downtimeExplicit: true });
    assert.equal(pinned.downtimeSteps, undefined);
    assert.equal(pinned.sourceParameters['downtime-limit'], 500);
    const given = migrationTuning({ ...live, maxDowntime: 80 }, { bandwidthMiBs: 100, downtimeMs: 300 });
    assert.equal(given.sourceParameters['downtime-limit'], 80);
    assert.equal(migrationTuning({ ...live, live: false }, { bandwidthMiBs: 100, downtimeMs: 300 }).downtimeSteps, undefined);
  });
});
