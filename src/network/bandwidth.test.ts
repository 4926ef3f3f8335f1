import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ifbName } from './bandwidth.js';

describe('ifbName()', () => {
  it('names the IFB device from the tap alone, within IFNAMSIZ, one per tap', () => {
    assert.equal(ifbName('fe0123456789n0'), ifbName('fe0123456789n0'));
    assert.notEqual(ifbName('fe0123456789n0'), ifbName('fe0123456789n1'));
    assert.match(ifbName('fe0123456789n10'), /^fb[0-9a-f]{12}$/);
  });
});
