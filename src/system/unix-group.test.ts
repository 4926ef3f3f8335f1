import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/helpers/tmp.js';
import { groupId } from './unix-group.js';

describe('groupId()', () => {
  it('reads /etc/group; a number is an id already; an unknown group is undefined', () => {
    const dir = tempDir('ferry-group-');
    writeFileSync(`${dir.path}/group`, 'root:x:0:\nkvm:x:104:\nferry:x:995:alice,bob\n');
    assert.equal(groupId('ferry', `${dir.path}/group`), 995);
    assert.equal(groupId('kvm', `${dir.path}/group`), 104);
    assert.equal(groupId('libvirt', `${dir.path}/group`), undefined);
    assert.equal(groupId('1234', `${dir.path}/group`), 1234);
    assert.equal(groupId('ferry', `${dir.path}/missing`), undefined);
  });
});
