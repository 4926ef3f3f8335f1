import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsoleFrameReader, dataFrame, endFrame } from './console-protocol.js';

describe('console frames', () => {
  it('ConsoleFrameReader.push() returns the frames whole however the bytes were cut', () => {
    const bytes = Buffer.concat([dataFrame(Buffer.from('hi-42\r\n')), dataFrame(Buffer.alloc(0)), endFrame({ reason: 'migrated', message: 'gone' })]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const reader = new ConsoleFrameReader();
      const frames = [...reader.push(bytes.subarray(0, cut)), ...reader.push(bytes.subarray(cut))];
      assert.deepEqual(
        frames,
        [
          { type: 'data', data: Buffer.from('hi-42\r\n') },
          { type: 'data', data: Buffer.alloc(0) },
          { type: 'end', end: { reason: 'migrated', message: 'gone' } },
        ],
        `cut at ${cut}`,
      );
      assert.equal(reader.partial, 0);
    }
  });

  it('ConsoleFrameReader.push() refuses bytes that are not frames', () => {
    assert.throws(() => new ConsoleFrameReader().push(Buffer.from('HTTP/1.1 200 OK\r\n')), RangeError);
  });
});
