import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LARGE_XML_CHARS, LargeXmlTurns } from './large-xml-turns.js';

describe('LargeXmlTurns', () => {
  const large = 'x'.repeat(LARGE_XML_CHARS + 1);

  it('run() lets one large document at a time through, in arrival order, and a failed one does not stop the next', async () => {
    const turns = new LargeXmlTurns();
    const log: string[] = [];
    const job = (name: string, fail = false) =>
      turns.run(large, async (step) => {
        log.push(`${name} start`);
        await step();
        log.push(`${name} end`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([job('a'), job('b', true), job('c')]);
    assert.deepEqual(log, ['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
  });

  it('run() yields to the event loop at each step of a large document, so a waiting callback runs in between', async () => {
    const turns = new LargeXmlTurns();
    const log: string[] = [];
    setImmediate(() => log.push('other'));
    await turns.run(large, async (step) => {
      log.push('before');
      await step();
      log.push('after');
    });
    assert.deepEqual(log, ['before', 'other', 'after']);
  });

  it('run() never queues a small document behind a large one', async () => {
    const turns = new LargeXmlTurns();
    const log: string[] = [];
    let release!: () => void;
    const blocked = turns.run(large, () => new Promise<void>((r) => (release = r)));
    await turns.run('<domain/>', async () => void log.push('small'));
    assert.deepEqual(log, ['small']);
    release();
    await blocked;
  });
});
