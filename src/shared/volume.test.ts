import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSize, prettyCapacity } from './volume.js';

describe('parseSize()', () => {
  it("reads virsh's scaled integers", () => {
    assert.equal(parseSize('1024'), 1024);
    assert.equal(parseSize('10G'), 10 * 1024 ** 3);
    assert.equal(parseSize('512M'), 512 * 1024 ** 2);
    assert.equal(parseSize('1GiB'), 1024 ** 3);
    assert.equal(parseSize('1000KB'), 1_000_000);
    assert.equal(parseSize('lots'), undefined);
    assert.equal(parseSize('5X'), undefined);
  });
  it('prettyCapacity() prints two decimals in binary units', () => {
    assert.equal(prettyCapacity(20 * 1024 ** 3), '20.00 GiB');
    assert.equal(prettyCapacity(200704), '196.00 KiB');
    assert.equal(prettyCapacity(1536 * 1024 ** 2, 3), '1.500 GiB', 'domjobinfo prints three decimals');
  });
});
