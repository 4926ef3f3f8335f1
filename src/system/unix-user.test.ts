import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/helpers/tmp.js';
import { allows, unixAccount } from './unix-user.js';

describe('unixAccount()', () => {
  it('reads the user, its primary group (or the one named) and its supplementary groups, as initgroups would', () => {
    const dir = tempDir('ferry-user-');
    const files = { passwd: `${dir.path}/passwd`, group: `${dir.path}/group` };
    writeFileSync(files.passwd, 'root:x:0:0::/root:/bin/sh\nferry-qemu:x:995:994::/nonexistent:/usr/sbin/nologin\n');
    writeFileSync(files.group, 'root:x:0:\nkvm:x:104:ferry-qemu\nferry-qemu:x:994:\ndisk:x:6:alice\n');
    try {
      assert.deepEqual(unixAccount('ferry-qemu', '', files), { name: 'ferry-qemu', uid: 995, gid: 994, groups: [994, 104] });
      assert.deepEqual(unixAccount('995', 'kvm', files), { name: 'ferry-qemu', uid: 995, gid: 104, groups: [104] });
      assert.equal(unixAccount('nobody-here', '', files), undefined);
      assert.equal(unixAccount('ferry-qemu', 'no-such-group', files), undefined);
    } finally {
      dir.cleanup();
    }
  });
});

describe('allows()', () => {
  const qemu = { uid: 995, groups: [994, 104] };
  it('uses the owner bits for the owner, the group bits for a member, the other bits for everyone else; root passes', () => {
    assert.equal(allows({ uid: 995, gid: 0, mode: 0o600 }, qemu, 0o6), true);
    assert.equal(allows({ uid: 0, gid: 0, mode: 0o600 }, qemu, 0o4), false);
    assert.equal(allows({ uid: 0, gid: 104, mode: 0o660 }, qemu, 0o6), true, '/dev/kvm through the kvm group');
    assert.equal(allows({ uid: 0, gid: 0, mode: 0o711 }, qemu, 0o1), true, 'a directory it may pass through');
    assert.equal(allows({ uid: 0, gid: 0, mode: 0o700 }, qemu, 0o1), false);
    assert.equal(allows({ uid: 995, gid: 994, mode: 0o066 }, qemu, 0o4), false, 'the owner bits decide for the owner, even when others may');
    assert.equal(allows({ uid: 0, gid: 0, mode: 0o000 }, { uid: 0, groups: [0] }, 0o7), true);
  });
});
