import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentFramer } from './framing.js';

const b = (s: string | number[]): Buffer => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s));

describe('AgentFramer', () => {
  it('push() returns one frame per line, across chunks and with several lines in one chunk', () => {
    const f = new AgentFramer();
    assert.deepEqual(f.push(b('{"return": {}}\n{"ret')), [{ text: '{"return": {}}', value: { return: {} }, delimited: false }]);
    assert.deepEqual(f.push(b('urn": 1')), []);
    assert.deepEqual(f.push(b('}\n\n')), [{ text: '{"return": 1}', value: { return: 1 }, delimited: false }]);
  });

  it('push() drops the partial line before a sentinel and marks the line after it delimited', () => {
    const f = new AgentFramer();
    const stray = '{"error": {"class": "GenericError", "desc": "JSON parse error, stray \'\\uFFFD\'"}}\n';
    assert.deepEqual(f.push(b(`${stray}{"retu`)), [{ text: stray.trim(), value: JSON.parse(stray), delimited: false }]);
    const frames = f.push(Buffer.concat([b('rn": "half a line'), b([0xff]), b('{"return": 42}\n{"return": {}}\n')]));
    assert.deepEqual(frames, [
      { text: '{"return": 42}', value: { return: 42 }, delimited: true },
      { text: '{"return": {}}', value: { return: {} }, delimited: false },
    ]);
  });

  it('push() keeps the delimited mark when the sentinel and its line arrive in separate chunks', () => {
    const f = new AgentFramer();
    assert.deepEqual(f.push(b('noise')), []);
    assert.deepEqual(f.push(b([0xff])), []);
    assert.deepEqual(f.push(b('{"return":')), []);
    assert.deepEqual(f.push(b(' 9}\n')), [{ text: '{"return": 9}', value: { return: 9 }, delimited: true }]);
  });

  it('push() decodes a multi-byte character split across chunks', () => {
    const f = new AgentFramer();
    const line = b('{"return": "Zürich"}\n');
    const cut = line.indexOf(0xc3) + 1;
    assert.deepEqual(f.push(line.subarray(0, cut)), []);
    assert.deepEqual(f.push(line.subarray(cut))[0]?.value, { return: 'Zürich' });
  });

  it('push() returns a line that is not JSON with value undefined', () => {
    const f = new AgentFramer();
    assert.deepEqual(f.push(b('login: \n')), [{ text: 'login:', value: undefined, delimited: false }]);
  });
});
