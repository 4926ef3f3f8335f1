import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DomainEvent } from '../shared/domain-events.js';
import { EventLog, type EventEntry } from './event-log.js';

const defined = (name: string): DomainEvent => ({ type: 'domain.defined', uuid: `uuid-${name}`, name, at: 0 });
const names = (entries: EventEntry[]): string[] => entries.map((e) => e.event.name);

describe('EventLog', () => {
  it('gives each event an id of this run, counting up', () => {
    const log = new EventLog(10, 'run1');
    assert.equal(log.append(defined('a')).id, 'run1-1');
    assert.equal(log.append(defined('b')).id, 'run1-2');
  });

  it('resumes after an id with exactly the events since, then the new ones', () => {
    const log = new EventLog(10, 'r');
    const a = log.append(defined('a'));
    log.append(defined('b'));
    log.append(defined('c'));
    const seen: string[] = [];
    const sub = log.subscribe(a.id, (e) => seen.push(e.event.name));
    assert.equal(sub.gap, undefined);
    assert.deepEqual(names(sub.replay), ['b', 'c']);
    log.append(defined('d'));
    sub.unsubscribe();
    log.append(defined('e'));
    assert.deepEqual(seen, ['d']);
    assert.deepEqual(log.subscribe('r-5', () => undefined).replay, [], 'up to date: nothing to replay');
  });

  it('says events were lost when the id is older than the ring, from another run, or not one of its ids', () => {
    const log = new EventLog(3, 'r');
    for (const n of ['a', 'b', 'c', 'd', 'e']) log.append(defined(n));
    // Kept: c, d, e (seq 3..5). After b (seq 2) the next needed is c: still exact.
    assert.equal(log.since('r-2').gap, undefined);
    assert.deepEqual(names(log.since('r-2').replay), ['c', 'd', 'e']);
    const expired = log.since('r-1');
    assert.deepEqual(expired.gap, { reason: 'expired', lastEventId: 'r-1', oldestId: 'r-3' });
    assert.deepEqual(names(expired.replay), ['c', 'd', 'e']);
    assert.equal(log.since('other-4').gap?.reason, 'restarted');
    assert.equal(log.since('r-99').gap?.reason, 'unknown-id');
    assert.equal(log.since('garbage').gap?.reason, 'unknown-id');
  });

  it('keeps at most its capacity', () => {
    const log = new EventLog(2, 'r');
    for (const n of ['a', 'b', 'c']) log.append(defined(n));
    assert.deepEqual(names(log.since('r-99').replay), ['b', 'c']);
    assert.throws(() => new EventLog(0), RangeError);
  });
});
