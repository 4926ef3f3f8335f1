import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { parseTimeSpec } from './time-spec.js';

describe('parseTimeSpec()', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  it('reads how long ago', () => {
    assert.equal(parseTimeSpec('30s', '--since', now), now - 30_000);
    assert.equal(parseTimeSpec('15m', '--since', now), now - 15 * 60_000);
    assert.equal(parseTimeSpec('1h', '--since', now), now - 3_600_000);
    assert.equal(parseTimeSpec('2d', '--since', now), now - 2 * 86_400_000);
    assert.equal(parseTimeSpec('1w', '--since', now), now - 7 * 86_400_000);
  });
  it('reads ISO 8601 dates and times, with or without a zone', () => {
    assert.equal(parseTimeSpec('2026-11-30T18:00:00Z', '--since', now), Date.parse('2026-11-30T18:00:00Z'));
    assert.equal(parseTimeSpec('2026-11-30T18:00:00+02:00', '--since', now), Date.parse('2026-11-30T16:00:00Z'));
    assert.equal(parseTimeSpec('2026-11-30 18:00', '--since', now), new Date(2026, 10, 30, 18, 0).getTime());
    assert.equal(parseTimeSpec('2026-11-30', '--since', now), new Date(2026, 10, 30).getTime());
  });
  it('refuses anything else with a coded error naming the option', () => {
    for (const bad of ['yesterday', '1y', '-1h', '2026-13-45', '', '1.5h']) {
      assert.throws(
        () => parseTimeSpec(bad, '--until', now),
        (e: unknown) => e instanceof FerryError && e.code === 'INVALID_ARGUMENT' && /--until/.test(e.message),
        bad,
      );
    }
  });
});
