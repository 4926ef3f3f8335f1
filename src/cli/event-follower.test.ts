import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import type { EventFrame } from '../transport/http-call.js';
import { type EventSource, followEvents } from './event-follower.js';

type Step = { frames?: Array<[data: object, frame: EventFrame]>; open?: boolean; fail?: FerryError };

/** A scripted event source: each connection plays one step (frames, then the stream ends or fails). */
function scripted(steps: Step[], asked: Array<string | undefined>, ac: AbortController): EventSource {
  return {
    async eventStream(onFrame, o) {
      asked.push(o.lastEventId);
      const step = steps.shift();
      if (!step) {
        ac.abort();
        return;
      }
      if (step.open !== false) o.onOpen?.();
      for (const [data, frame] of step.frames ?? []) onFrame(JSON.stringify(data), frame);
      if (step.fail) throw step.fail;
    },
  };
}

const ev = (name: string, id: string): [object, EventFrame] => [
  { type: 'domain.defined', name },
  { id, event: 'domain.defined' },
];
const refused = new FerryError('CONNECT_FAILED', 'Connection refused');

describe('followEvents()', () => {
  it('reconnects after a drop with the last id seen, through refused connections, and reports each event once', async () => {
    const ac = new AbortController();
    const asked: Array<string | undefined> = [];
    const got: string[] = [];
    const notes: string[] = [];
    await followEvents(
      scripted(
        [
          { frames: [ev('a', 'r-1'), ev('b', 'r-2')] }, // then ferryd stops: the stream ends
          { open: false, fail: refused }, // still down
          { frames: [ev('c', 'r-3')], fail: new FerryError('CONNECT_FAILED', 'aborted') }, // back, then reset
          {
            frames: [[{ type: 'ferry.events-lost', reason: 'restarted', lastEventId: 'r-3', oldestId: 's-1' }, { event: 'ferry.events-lost' }], ev('d', 's-1')],
          },
        ],
        asked,
        ac,
      ),
      {
        signal: ac.signal,
        retryMs: 1,
        onEvent: (e) => got.push(String(e.name)),
        onLost: (l) => notes.push(`lost ${l.reason}`),
        onDropped: () => notes.push('dropped'),
        onResumed: () => notes.push('resumed'),
      },
    );
    assert.deepEqual(got, ['a', 'b', 'c', 'd']);
    assert.deepEqual(asked, [undefined, 'r-2', 'r-2', 'r-3', 's-1']);
    assert.deepEqual(notes, ['dropped', 'resumed', 'dropped', 'resumed', 'lost restarted', 'dropped']);
  });

  it("throws the first connection's failure, and a refusal by the daemon, instead of retrying", async () => {
    const ac = new AbortController();
    const base = { signal: ac.signal, retryMs: 1, onEvent: () => undefined, onLost: () => undefined, onDropped: () => undefined, onResumed: () => undefined };
    await assert.rejects(followEvents(scripted([{ open: false, fail: refused }], [], ac), base), /Connection refused/);
    const denied = new FerryError('ACCESS_DENIED', 'no');
    await assert.rejects(followEvents(scripted([{ frames: [ev('a', 'r-1')] }, { open: false, fail: denied }], [], ac), base), /no/);
  });
});
